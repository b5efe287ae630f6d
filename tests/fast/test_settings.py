"""/settings, every item: a good value, a bad value, a toggle, a sentence kept, close, cancel."""

from __future__ import annotations

import pytest

from bot import texts
from handlers.settings import ITEMS
from tests.support.fast import FastBot
from tests.support.rows import add_user, captures, db_of, user_of


async def _menu(bot: FastBot):  # type: ignore[no-untyped-def]
    await add_user(db_of(bot.app), 101, tz="UTC")
    alice = bot.person()
    [menu] = await bot(alice.command("settings"))
    assert menu.text.startswith("Your settings:")
    assert menu.button_texts == [item.label for item in ITEMS] + ["Done"]
    return alice


async def _asking(bot: FastBot, label: str):  # type: ignore[no-untyped-def]
    alice = await _menu(bot)
    [ask] = await bot.texts(alice.press(label))
    item = next(i for i in ITEMS if i.label == label)
    assert ask == texts.SETTINGS_ASK.format(prompt=item.prompt)
    return alice


GOOD = [
    ("Time zone", "Tokyo", "Time zone: Asia/Tokyo", "timezone", "Asia/Tokyo"),
    ("Therapy", "thu 18:30", "Therapy: every Thu 18:30", "therapy_weekday", 3),
    ("Evening prompt", "21:15", "Evening prompt: 21:15", "evening_time", "21:15"),
    ("Evening prompt", "off", "Evening prompt: off", "evening_time", None),
    ("Voice language", "de", "Voice language: de", "language", "de"),
    ("Ask how it went after", "5", "Ask how it went after: 5 h", "followup_hours", 5.0),
    ("Tidy chat after", "24", "Tidy chat after: 24 h", "tidy_hours", 24),
    ("Tidy chat after", "off", "Tidy chat after: off", "tidy_hours", None),
]


@pytest.mark.parametrize(("label", "value", "shown", "column", "stored"), GOOD)
async def test_a_good_value_is_saved_and_the_menu_shows_it(
    bot: FastBot, label: str, value: str, shown: str, column: str, stored: object
) -> None:
    alice = await _asking(bot, label)
    saved, menu = await bot.texts(alice.send_text(value))
    assert saved == texts.SETTINGS_DONE and shown in menu
    got = getattr(await user_of(bot.app, 101), column)
    assert (f"{got:%H:%M}" if hasattr(got, "hour") else got) == stored


BAD = [  # (item, a bad value, then a good one: the question is still open)
    ("Time zone", "Mars/Olympus", "UTC"),
    ("Therapy", "someday", "off"),
    ("Evening prompt", "late-ish", "off"),
    ("Voice language", "klingon", "auto"),
    ("Ask how it went after", "soon", "3"),
    ("Ask how it went after", "500", "3"),
    ("Tidy chat after", "lots", "off"),
]


@pytest.mark.parametrize(("label", "value", "good"), BAD)
async def test_a_bad_value_says_why_and_keeps_asking(
    bot: FastBot, label: str, value: str, good: str
) -> None:
    alice = await _asking(bot, label)
    before = await user_of(bot.app, 101)
    [bad] = await bot.texts(alice.send_text(value))
    assert bad.startswith("That didn't work: ")
    after = await user_of(bot.app, 101)
    assert (after.timezone, after.therapy_weekday, after.evening_time, after.language) == (
        before.timezone,
        before.therapy_weekday,
        before.evening_time,
        before.language,
    )
    assert (after.followup_hours, after.tidy_hours) == (before.followup_hours, before.tidy_hours)
    assert await captures(bot.app, 101) == []  # a short bad value is no capture
    saved, _ = await bot.texts(alice.send_text(good))
    assert saved == texts.SETTINGS_DONE


async def test_a_sentence_where_a_value_was_asked_is_kept_as_a_capture(bot: FastBot) -> None:
    alice = await _asking(bot, "Time zone")
    replies = await bot.texts(alice.send_text("she said I can rest without earning it"))
    assert texts.KEPT_INSTEAD in replies
    assert replies[-1] == texts.SETTINGS_ASK.format(prompt=ITEMS[0].prompt)
    [row] = await captures(bot.app, 101)
    assert row.text == "she said I can rest without earning it"


async def test_text_at_the_menu_is_kept_and_the_menu_shown_again(bot: FastBot) -> None:
    alice = await _menu(bot)
    replies = await bot.texts(alice.send_text("tokyo"))
    assert texts.KEPT_INSTEAD in replies and replies[-1].startswith("Your settings:")
    assert [c.text for c in await captures(bot.app, 101)] == ["tokyo"]
    assert (await user_of(bot.app, 101)).timezone == "UTC"


@pytest.mark.parametrize(
    ("label", "column"), [("Pin paragraph", "pin_paragraph"), ("Keep voice audio", "keep_audio")]
)
async def test_a_toggle_flips_at_once_and_back(bot: FastBot, label: str, column: str) -> None:
    alice = await _menu(bot)
    before = getattr(await user_of(bot.app, 101), column)
    [menu] = await bot.texts(alice.press(label))
    assert f"{label}: {'on' if not before else 'off'}" in menu
    assert getattr(await user_of(bot.app, 101), column) is (not before)
    await bot(alice.press(label))
    assert getattr(await user_of(bot.app, 101), column) is before


async def test_done_closes_the_menu(bot: FastBot) -> None:
    alice = await _menu(bot)
    assert await bot.texts(alice.press("Done")) == [texts.SETTINGS_CLOSED]
    await bot(alice.send_text("tokyo"))  # now a capture again, not a setting
    assert (await user_of(bot.app, 101)).timezone == "UTC"


async def test_cancel_keeps_the_value_being_asked(bot: FastBot) -> None:
    alice = await _asking(bot, "Time zone")
    assert await bot.texts(alice.command("cancel")) == [texts.SETTINGS_CLOSED]
    await bot(alice.send_text("Tokyo"))
    assert (await user_of(bot.app, 101)).timezone == "UTC"
    assert [c.text for c in await captures(bot.app, 101)] == ["Tokyo"]


async def test_a_changed_evening_time_reschedules_the_prompt(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101, tz="UTC", therapy_weekday=2)
    alice = bot.person()
    await bot(alice.command("settings"))
    await bot(alice.press("Evening prompt"))
    await bot(alice.send_text("off"))
    assert not bot.app.job_queue.get_jobs_by_name("evening:101")
