"""bot/schedule.py: which sessions a person has, for every kind of schedule, across DST.

Pure: no bot, no database. 2026's DST changes: Europe/Berlin 29 Mar and 25 Oct,
America/New_York 8 Mar and 1 Nov.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bot.schedule import Schedule, anchor_for
from storage.models import TherapyDateKind

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def local(tz: dt.tzinfo, *parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def days(instants: list[dt.datetime], tz: dt.tzinfo) -> list[str]:
    return [i.astimezone(tz).strftime("%a %d %b %H:%M") for i in instants]


def test_weekly_keeps_its_local_time_across_both_dst_changes() -> None:
    tuesday = Schedule(BERLIN, weekday=1, at=dt.time(17, 0))
    found = tuesday.between(local(BERLIN, 2026, 3, 20), local(BERLIN, 2026, 11, 4))
    assert days(found[:3], BERLIN) == ["Tue 24 Mar 17:00", "Tue 31 Mar 17:00", "Tue 07 Apr 17:00"]
    assert {i.astimezone(BERLIN).hour for i in found} == {17}
    assert found[0].hour == 16 and found[1].hour == 15  # CET, then CEST, in UTC
    assert found[-1].astimezone(BERLIN).date() == dt.date(2026, 11, 3)
    assert found[-1].hour == 16  # CET again after 25 Oct


def test_every_other_week_counts_from_its_anchor() -> None:
    other = Schedule(
        NEW_YORK, weekday=1, at=dt.time(17, 0), every_weeks=2, anchor=dt.date(2026, 3, 3)
    )
    after = local(NEW_YORK, 2026, 3, 1)
    assert days(other.upcoming(after, 3), NEW_YORK) == [
        "Tue 03 Mar 17:00",
        "Tue 17 Mar 17:00",  # after the 8 Mar change: still 17:00 local
        "Tue 31 Mar 17:00",
    ]
    assert other.next_after(local(NEW_YORK, 2026, 3, 4)) == local(NEW_YORK, 2026, 3, 17, 17)
    assert other.last_until(local(NEW_YORK, 2026, 3, 16, 23)) == local(NEW_YORK, 2026, 3, 3, 17)
    assert other.last_until(local(NEW_YORK, 2026, 3, 17, 17)) == local(NEW_YORK, 2026, 3, 17, 17)


def test_an_anchor_before_or_after_counts_the_same_weeks() -> None:
    later = Schedule(BERLIN, weekday=1, at=dt.time(9), every_weeks=2, anchor=dt.date(2026, 5, 12))
    earlier = Schedule(BERLIN, weekday=1, at=dt.time(9), every_weeks=2, anchor=dt.date(2026, 1, 6))
    window = (local(BERLIN, 2026, 2, 1), local(BERLIN, 2026, 7, 1))
    assert later.between(*window) == earlier.between(*window)


def test_a_skipped_session_is_not_there() -> None:
    skip = local(BERLIN, 2026, 4, 7, 17)
    weekly = Schedule(BERLIN, weekday=1, at=dt.time(17), skipped=frozenset({skip}))
    assert weekly.next_after(local(BERLIN, 2026, 4, 1)) == local(BERLIN, 2026, 4, 14, 17)
    assert weekly.last_until(local(BERLIN, 2026, 4, 13)) == local(BERLIN, 2026, 3, 31, 17)


def test_a_moved_session_is_where_it_moved_to() -> None:
    old, new = local(BERLIN, 2026, 4, 7, 17), local(BERLIN, 2026, 4, 9, 9)
    moved = Schedule(BERLIN, weekday=1, at=dt.time(17), skipped=frozenset({old}), sessions=(new,))
    assert days(moved.upcoming(local(BERLIN, 2026, 4, 1), 3), BERLIN) == [
        "Thu 09 Apr 09:00",
        "Tue 14 Apr 17:00",
        "Tue 21 Apr 17:00",
    ]
    assert moved.last_until(local(BERLIN, 2026, 4, 10)) == new


def test_irregular_sessions_are_only_the_given_ones() -> None:
    given = (local(NEW_YORK, 2026, 10, 28, 18), local(NEW_YORK, 2026, 11, 5, 8))
    irregular = Schedule(NEW_YORK, irregular=True, sessions=given)
    assert irregular.upcoming(local(NEW_YORK, 2026, 10, 1), 3) == list(given)
    assert irregular.next_after(given[1]) is None
    assert irregular.last_until(local(NEW_YORK, 2026, 10, 1)) is None
    assert irregular.is_set and not irregular.has_rule
    assert not Schedule(NEW_YORK, irregular=True).is_set


def test_from_a_row_and_its_dates() -> None:
    rows = [
        SimpleNamespace(kind=TherapyDateKind.SKIP, starts_at=dt.datetime(2026, 4, 7, 15)),
        SimpleNamespace(kind=TherapyDateKind.SESSION, starts_at=dt.datetime(2026, 4, 9, 7)),
    ]
    user = SimpleNamespace(
        timezone="Europe/Berlin",
        therapy_weekday=1,
        therapy_time=dt.time(17),
        therapy_every_weeks=1,
        therapy_anchor=None,
        therapy_irregular=False,
        therapy_dates=rows,
    )
    schedule = Schedule.of(user)  # type: ignore[arg-type]
    assert schedule.skipped == {local(BERLIN, 2026, 4, 7, 17)}
    assert schedule.sessions == (local(BERLIN, 2026, 4, 9, 9),)
    user.therapy_irregular = True
    assert not Schedule.of(user).has_rule  # type: ignore[arg-type]


def test_anchor_is_the_next_occurrence() -> None:
    now = local(BERLIN, 2026, 3, 4, 12)  # a Wednesday
    assert anchor_for(1, dt.time(17), BERLIN, now) == dt.date(2026, 3, 10)
    assert anchor_for(2, dt.time(17), BERLIN, now) == dt.date(2026, 3, 4)  # later today


def test_nothing_is_asked_during_a_session() -> None:
    moved = local(BERLIN, 2026, 10, 29, 9)  # a session moved to Thu 9:00 (CET after 25 Oct)
    schedule = Schedule(BERLIN, weekday=1, at=dt.time(17), sessions=(moved,))
    during = local(BERLIN, 2026, 10, 29, 9, 30)
    assert schedule.after_session(during) == local(BERLIN, 2026, 10, 29, 10)
    assert schedule.after_session(local(BERLIN, 2026, 10, 27, 17, 59)) == local(
        BERLIN, 2026, 10, 27, 18
    )
    free = local(BERLIN, 2026, 10, 28, 12)
    assert schedule.after_session(free) == free
    assert Schedule(BERLIN).after_session(free) == free
