"""How /trigger reads what was typed: a time, a situation, a bad time, or "a situation?".

The phrase parser itself is bot/timespec.py (tested in test_timespec.py); this is the layer
around it that picks the path and the words the person sees.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.moments import describe
from bot.timespec import read_moment

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)  # a Tuesday


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("thu 08:00 morning walk", "Thursday 26 Nov, 08:00 Berlin time — morning walk"),
        ("Thursday 8am, morning walk", "Thursday 26 Nov, 08:00 Berlin time — morning walk"),
        ("tomorrow 7pm", "Wednesday 25 Nov, 19:00 Berlin time"),
        ("tonight 9", "Tuesday 24 Nov, 21:00 Berlin time"),
        ("in 2 hours", "Tuesday 24 Nov, 12:00 Berlin time"),
        ("26 nov 18:30 before dinner", "Thursday 26 Nov, 18:30 Berlin time — before dinner"),
        ("every weekday 8:30", "every weekday at 08:30 (Berlin time)"),
        ("every mon, wed 7:15 gym", "every Mon and Wed at 07:15 (Berlin time) — gym"),
        ("daily 21:00", "every day at 21:00 (Berlin time)"),
        ("sundays at noon", "every Sunday at 12:00 (Berlin time)"),
        ("  THU   08:00  ", "Thursday 26 Nov, 08:00 Berlin time"),
    ],
)
def test_times_are_confirmed_in_plain_words(typed: str, said: str) -> None:
    reading = read_moment(typed, NOW, BERLIN)
    assert reading.kind == "time" and reading.spec is not None
    assert describe(reading.spec, BERLIN, NOW) == said


@pytest.mark.parametrize(
    "typed",
    [
        "when my partner brings up money",
        "Whenever I open my inbox on Sunday",
        "if I feel the urge to apologise",
        "every time my boss emails after 8pm",
        "next time I visit my parents",
        "the next time she cancels",
        "As soon as I wake up",
    ],
)
def test_situations_are_kept_as_typed(typed: str) -> None:
    reading = read_moment(typed, NOW, BERLIN)
    assert (reading.kind, reading.text) == ("situation", typed)


@pytest.mark.parametrize(
    "typed",
    ["thu 25:00", "blursday 8:00", "every blursday 8", "tomorrow at 99", "mon 7:75", "at 8"],
)
def test_bad_times_say_how_to_write_one(typed: str) -> None:
    reading = read_moment(typed, NOW, BERLIN)
    assert reading.kind == "bad_time"
    assert reading.error.startswith("I didn't understand that time. Try: thu 08:00")


def test_a_time_already_passed_says_so() -> None:
    reading = read_moment("24 nov 08:00", NOW, BERLIN)
    assert reading.kind == "bad_time" and reading.error.startswith("That time has already passed")


@pytest.mark.parametrize(
    "typed", ["after dinner with my sister", "on the bus home", "🙂", "call mum", "x" * 5000]
)
def test_other_text_is_offered_as_a_situation(typed: str) -> None:
    reading = read_moment(typed, NOW, BERLIN)
    assert reading.kind == "ask" and reading.text == typed[:300]
