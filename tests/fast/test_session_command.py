"""/session and the therapy question through the bot: every kind of schedule in words."""

from __future__ import annotations

import datetime as dt
import itertools
import re

from bot import texts
from bot.schedule import Schedule
from tests.support.fast import FastBot
from tests.support.rows import add_user, captures, db_of, user_of


def next_dates(text: str) -> list[str]:
    return re.findall(r"• (\w{3} \d\d \w{3}, \d\d:\d\d)", text)


async def test_every_other_week_shows_the_next_three_a_fortnight_apart(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101, tz="Europe/Berlin")
    alice = bot.person()
    [answer] = await bot.texts(alice.command("session", "every other tue 17:00"))
    assert answer.startswith("Therapy: every other Tuesday at 17:00.")
    shown = [dt.datetime.strptime(d, "%a %d %b, %H:%M") for d in next_dates(answer)]
    assert len(shown) == 3
    assert {(b - a).days for a, b in itertools.pairwise(shown)} <= {
        14,
        14 - 365,
    }  # no year: across New Year 1900 wraps
    user = await user_of(bot.app, 101)
    assert (user.therapy_weekday, user.therapy_every_weeks) == (1, 2)
    assert user.therapy_anchor is not None and user.therapy_anchor.weekday() == 1
    [listing] = await bot.texts(alice.command("session"))
    assert next_dates(listing) == next_dates(answer) and texts.SESSION_HELP in listing


async def test_skip_then_move_then_the_settings_menu_agrees(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101, tz="America/New_York")
    alice = bot.person()
    [first] = await bot.texts(alice.command("session", "thu 18:00"))
    before = next_dates(first)
    [skipped] = await bot.texts(alice.command("session", "no session next week"))
    assert next_dates(skipped)[:2] == before[1:3]  # the next one is gone
    [moved] = await bot.texts(alice.command("session", "moved to sat 10:00"))
    after = next_dates(moved)
    assert after[0].startswith("Sat") and after[0].endswith("10:00")
    assert after[1:] == before[2:3] + after[2:]  # Thursday's went to Saturday
    [menu] = await bot.texts(alice.command("settings"))
    row = next(line for line in menu.splitlines() if line.startswith("Therapy:"))
    assert row.startswith("Therapy: every Thu 18:00; next: Sat")


async def test_irregular_is_asked_for_each_next_session(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101, tz="Europe/Berlin")
    alice = bot.person()
    [answer] = await bot.texts(alice.command("session", "irregular"))
    assert answer == f"{texts.SCHEDULE_IRREGULAR}\n{texts.SCHEDULE_NO_NEXT}"
    [given] = await bot.texts(alice.command("session", "next wed 18:00"))
    assert given.startswith(texts.SCHEDULE_IRREGULAR) and len(next_dates(given)) == 1
    user = await user_of(bot.app, 101)
    assert Schedule.of(user).next_after(dt.datetime.now(dt.UTC)) is not None


async def test_bad_phrases_get_the_help_and_change_nothing(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101, tz="UTC")
    alice = bot.person()
    assert await bot.texts(alice.command("session", "someday maybe")) == [texts.SCHEDULE_HELP]
    assert await bot.texts(alice.command("session", "skip")) == [texts.SCHEDULE_NOTHING_AHEAD]
    user = await user_of(bot.app, 101)
    assert user.therapy_weekday is None and not user.therapy_dates


async def test_the_next_session_answer_takes_a_time_and_keeps_words(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101, tz="Europe/Berlin")
    alice = bot.person()
    await bot(alice.command("session", "irregular"))
    bot.app.user_data[101]["next_session_asked"] = dt.datetime.now().timestamp()
    # a sentence is no time: it is kept as a capture, the question stays open
    said = "My therapist said I can rest before I earn it"
    await bot(alice.send_text(said))
    assert [c.text for c in await captures(bot.app, 101)] == [said]
    [set_it] = await bot.texts(alice.send_text("fri 9:00"))
    assert set_it.startswith(texts.SCHEDULE_IRREGULAR) and next_dates(set_it)[0].startswith("Fri")
    assert "next_session_asked" not in bot.app.user_data[101]
