"""The 🔁 Recall button inside an open conversation: it recalls, like /recall, and the
question stays open; with nothing to bring back it says so, like /recall."""

from __future__ import annotations

from bot import texts
from tests.support.fast import FastBot
from tests.support.rows import add_reflection, add_user, captures, db_of, user_of


async def test_a_tap_while_a_setting_is_asked_recalls_and_the_question_stays(
    bot: FastBot,
) -> None:
    db = db_of(bot.app)
    await add_user(db, 101, tz="UTC")
    await add_reflection(db, 101, "I can say no")
    alice = bot.person()
    await bot(alice.command("settings"))
    [ask] = await bot.texts(alice.press("Time zone"))
    assert ask.startswith("Send a city")
    [card] = await bot(alice.send_text(texts.RECALL_KEY))  # not taken as the time zone
    [typed] = await bot(alice.command("recall"))
    assert card.text == typed.text and card.text.startswith("I can say no")
    saved, _menu = await bot.texts(alice.send_text("Tokyo"))  # the question is still open
    assert saved == texts.SETTINGS_DONE
    user = await user_of(bot.app, 101)
    assert user is not None and user.timezone == "Asia/Tokyo"
    assert await captures(bot.app, 101) == []


async def test_a_tap_with_nothing_to_bring_back_answers_as_recall(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    assert await bot.texts(alice.send_text(texts.RECALL_KEY)) == [texts.RECALL_NOTHING]
    assert await bot.texts(alice.command("recall")) == [texts.RECALL_NOTHING]
    assert await captures(bot.app, 101) == []
