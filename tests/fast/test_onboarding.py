"""/start's two questions, every branch: typed, tapped, bad, a sentence kept, skip, cancel."""

from __future__ import annotations

from bot import texts
from tests.support.fast import FastBot
from tests.support.rows import captures, user_of
from tests.support.speech import FIXTURES, REFERENCES


async def _at_timezone(bot: FastBot):  # type: ignore[no-untyped-def]
    alice = bot.person()
    replies = await bot(alice.command("start"))
    assert [m.text for m in replies] == [texts.INTRO, texts.ASK_TIMEZONE]
    return alice


async def _at_therapy(bot: FastBot):  # type: ignore[no-untyped-def]
    alice = await _at_timezone(bot)
    replies = await bot.texts(alice.send_text("Europe/Berlin"))
    assert replies[-1] == texts.ASK_THERAPY
    return alice


async def test_start_offers_zone_buttons_and_registers_commands(bot: FastBot) -> None:
    alice = bot.person()
    replies = await bot(alice.command("start"))
    assert any("Berlin" in label for label in replies[1].button_texts)
    [commands] = bot.api.calls("setMyCommands")
    assert {c["command"] for c in commands["commands"]} >= {"start", "recall", "cancel"}


async def test_typed_city_sets_the_zone_and_asks_for_therapy(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    zone_set, ask = await bot.texts(alice.send_text("berlin"))
    assert zone_set.startswith("Time zone set: Europe/Berlin")
    assert ask == texts.ASK_THERAPY
    assert (await user_of(bot.app, 101)).timezone == "Europe/Berlin"


async def test_typed_offset_is_a_zone(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    zone_set, _ = await bot.texts(alice.send_text("+5:30"))
    assert "+05:30" in zone_set
    assert (await user_of(bot.app, 101)).timezone == "+05:30"


async def test_tapped_zone_sets_it_and_answers_the_button(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    zone_set, ask = await bot.texts(alice.press("New York"))
    assert "America/New_York" in zone_set and ask == texts.ASK_THERAPY
    assert len(alice.callback_answers) == 1
    assert (await user_of(bot.app, 101)).timezone == "America/New_York"


async def test_unknown_zone_is_asked_again_with_the_buttons(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    [bad] = await bot(alice.send_text("Mars/Olympus"))
    assert bad.text == texts.BAD_TIMEZONE and bad.button_texts
    zone_set, _ = await bot.texts(alice.send_text("Tokyo"))
    assert "Asia/Tokyo" in zone_set


async def test_a_sentence_for_the_zone_is_kept_as_a_capture(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    replies = await bot.texts(alice.send_text("my therapist said rest is allowed"))
    assert texts.KEPT_INSTEAD in replies and replies[-1] == texts.ASK_TIMEZONE
    [row] = await captures(bot.app, 101)
    assert row.text == "my therapist said rest is allowed"
    zone_set, _ = await bot.texts(alice.send_text("berlin"))  # still asking for the zone
    assert "Europe/Berlin" in zone_set


async def test_a_voice_memo_for_the_zone_is_kept_and_transcribed(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    replies = await bot.texts(alice.send_voice(FIXTURES / "speech_01.ogg"))
    assert texts.KEPT_INSTEAD in replies and texts.ASK_TIMEZONE in replies
    [row] = await captures(bot.app, 101)
    assert row.text == REFERENCES["speech_01.ogg"]
    assert any(REFERENCES["speech_01.ogg"] in (e.text or "") for e in alice.edits)


async def test_a_sticker_for_the_zone_says_what_can_be_kept(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    replies = await bot.texts(alice.send_sticker())
    assert replies == [texts.NOT_WORDS, texts.ASK_TIMEZONE]
    assert await captures(bot.app, 101) == []


async def test_therapy_day_and_time_finish_onboarding(bot: FastBot) -> None:
    alice = await _at_therapy(bot)
    therapy, done = await bot.texts(alice.send_text("tue 17:00"))
    assert therapy.startswith(texts.SCHEDULE_EVERY[1].format(day="Tuesday", time="17:00"))
    assert texts.SCHEDULE_NEXT in therapy  # and the next three sessions
    assert done == texts.ONBOARDED
    user = await user_of(bot.app, 101)
    assert (user.therapy_weekday, f"{user.therapy_time:%H:%M}", user.onboarded) == (
        1,
        "17:00",
        True,
    )


async def test_skip_leaves_no_therapy_day(bot: FastBot) -> None:
    alice = await _at_therapy(bot)
    assert await bot.texts(alice.command("skip")) == [texts.THERAPY_SKIPPED, texts.ONBOARDED]
    user = await user_of(bot.app, 101)
    assert user.therapy_weekday is None and user.onboarded


async def test_bad_therapy_time_is_asked_again(bot: FastBot) -> None:
    alice = await _at_therapy(bot)
    assert await bot.texts(alice.send_text("someday")) == [texts.SCHEDULE_HELP]
    assert (await user_of(bot.app, 101)).onboarded is False
    therapy, _ = await bot.texts(alice.send_text("fri 9:00"))
    assert "Friday" in therapy


async def test_a_sentence_for_the_therapy_day_is_kept(bot: FastBot) -> None:
    alice = await _at_therapy(bot)
    replies = await bot.texts(alice.send_text("I noticed I apologise all the time"))
    assert texts.KEPT_INSTEAD in replies and replies[-1] == texts.ASK_THERAPY
    assert [c.text for c in await captures(bot.app, 101)] == ["I noticed I apologise all the time"]


async def test_cancel_stops_onboarding_and_text_is_a_capture_again(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    assert await bot.texts(alice.command("cancel")) == [texts.ONBOARDING_CANCELLED]
    replies = await bot.texts(alice.send_text("berlin"))
    assert texts.TIMEZONE_SET.split(":")[0] not in " ".join(replies)
    [row] = await captures(bot.app, 101)
    assert row.text == "berlin"


async def test_an_edit_during_onboarding_changes_nothing(bot: FastBot) -> None:
    alice = await _at_timezone(bot)
    first = alice.send_text("Mars/Olympus")
    await bot(first)
    assert await bot.texts(alice.edit_message(first, "berlin")) == [texts.EDIT_NOT_APPLIED]
    assert (await user_of(bot.app, 101)).timezone != "Europe/Berlin"
