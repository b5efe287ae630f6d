"""Three simulated weeks for each kind of schedule: every prompt and digest, on its day, once.

The clock is fake and ticks every 10 minutes; at each tick the evening and digest jobs'
own planning (bot/jobs/evening.plan, bot/jobs/digest.plan) is asked what is due, and a due
one "fires" as the job does: it records the handled day on the row and plans again from
just after. The people are real `User` rows with their `therapy_dates`, changed through
the same reader and `apply` the handlers use. Each run crosses a 2026 DST change of its
zone (Berlin 25 Oct and 29 Mar, New York 1 Nov and 8 Mar).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from bot.jobs import digest, evening
from bot.schedule import apply, last_therapy
from bot.timespec import read_schedule
from storage.models import User

UTC = dt.UTC
EVENING = dt.time(20, 30)
TICK = dt.timedelta(minutes=10)


def person(zone: str, phrase: str, now: dt.datetime) -> User:
    user = User(
        id=1,
        chat_id=1,
        timezone=zone,
        evening_time=EVENING,
        therapy_every_weeks=1,
        therapy_irregular=False,
        therapy_dates=[],
    )
    apply(user, read_schedule(phrase, now, ZoneInfo(zone)), now)
    return user


@dataclass
class Run:
    """What the fake clock saw: (local date, local time) of each prompt and digest."""

    prompts: list[tuple[dt.date, dt.time, dt.date]] = field(default_factory=list)
    digests: list[dt.date] = field(default_factory=list)


def live(user: User, start: dt.datetime, weeks: int, next_sessions: list[str]) -> Run:
    """Ticks through `weeks`; after each prompt an irregular person gives their next session."""
    tz = ZoneInfo(user.timezone)
    run, now, end = Run(), start, start + dt.timedelta(weeks=weeks)
    prompt = evening.plan(user, now)
    brief = digest.plan(user, now)
    while now < end:
        now += TICK
        if prompt is not None and now >= prompt[0]:
            _, due, session = prompt
            run.prompts.append(
                (
                    due.astimezone(tz).date(),
                    due.astimezone(tz).time(),
                    session.astimezone(tz).date(),
                )
            )
            user.last_evening_prompt_on = due.astimezone(tz).date()
            if next_sessions:  # the reflection is saved; "When is your next session?"
                said = next_sessions.pop(0)
                apply(user, read_schedule(said, now, tz, irregular=True), now)
                brief = digest.plan(user, now)
            prompt = evening.plan(user, max(now, due) + dt.timedelta(seconds=1))
        if brief is not None and now >= brief[0]:
            run.digests.append(brief[1])
            user.last_digest_on = brief[1]
            brief = digest.plan(user, now)
    return run


AUTUMN = dt.datetime(2026, 10, 19, 0, 0, tzinfo=UTC)  # Monday; Berlin 25 Oct, New York 1 Nov


def test_every_other_week_in_berlin_across_the_autumn_change() -> None:
    user = person("Europe/Berlin", "every other tue 17:00", AUTUMN)
    run = live(user, AUTUMN, 3, [])
    # Sessions Tue 20 Oct and Tue 3 Nov (not 27 Oct): a prompt each evening, a digest the
    # evening before, all at 20:30 local on both sides of the change.
    assert run.prompts == [
        (dt.date(2026, 10, 20), EVENING, dt.date(2026, 10, 20)),
        (dt.date(2026, 11, 3), EVENING, dt.date(2026, 11, 3)),
    ]
    assert run.digests == [dt.date(2026, 10, 19), dt.date(2026, 11, 2)]


def test_irregular_in_new_york_across_the_autumn_change() -> None:
    start = AUTUMN
    user = person("America/New_York", "irregular", start)
    tz = ZoneInfo("America/New_York")
    apply(user, read_schedule("wed 18:00", start, tz, irregular=True), start)  # 21 Oct
    run = live(user, start, 3, ["thu 29 oct 18:00", "mon 2 nov 19:45"])
    assert run.prompts == [
        (dt.date(2026, 10, 21), EVENING, dt.date(2026, 10, 21)),
        (dt.date(2026, 10, 29), EVENING, dt.date(2026, 10, 29)),
        # 19:45 leaves less than an hour before 20:30: the prompt is the next evening
        (dt.date(2026, 11, 3), EVENING, dt.date(2026, 11, 2)),
    ]
    # The evening before each session, for the later ones too: each was given (after the
    # prompt before it) in time for its digest.
    assert run.digests == [dt.date(2026, 10, 20), dt.date(2026, 10, 28), dt.date(2026, 11, 1)]


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", dt.datetime(2026, 3, 16, tzinfo=UTC)),  # 29 Mar inside
        ("America/New_York", dt.datetime(2026, 3, 2, tzinfo=UTC)),  # 8 Mar inside
    ],
)
def test_every_other_week_in_spring_keeps_the_local_evening(zone: str, start: dt.datetime) -> None:
    user = person(zone, "every other mon 9:00", start)
    run = live(user, start, 3, [])
    days = [day for day, _, _ in run.prompts]
    assert len(days) == 2 and (days[1] - days[0]).days == 14
    assert all(day.weekday() == 0 for day in days)
    assert {at for _, at, _ in run.prompts} == {EVENING}
    tz = ZoneInfo(zone)
    eves = [day - dt.timedelta(days=1) for day in days]
    # a digest whose evening came before the clock started is not sent late
    assert run.digests == [d for d in eves if dt.datetime.combine(d, EVENING, tz) > start]


def test_a_skipped_and_a_moved_session() -> None:
    tz = ZoneInfo("Europe/Berlin")
    user = person("Europe/Berlin", "tue 17:00", AUTUMN)
    apply(user, read_schedule("no session next week", AUTUMN, tz), AUTUMN)  # Tue 20 Oct off
    week_two = dt.datetime(2026, 10, 21, 12, tzinfo=UTC)
    apply(user, read_schedule("moved to thu 29 oct 9:00", week_two, tz), week_two)
    run = live(user, AUTUMN, 3, [])
    assert run.prompts == [
        (dt.date(2026, 10, 29), EVENING, dt.date(2026, 10, 29)),  # moved from Tue 27 Oct
        (dt.date(2026, 11, 3), EVENING, dt.date(2026, 11, 3)),
    ]
    assert run.digests == [dt.date(2026, 10, 28), dt.date(2026, 11, 2)]


def test_captures_belong_to_the_real_previous_session() -> None:
    tz = ZoneInfo("Europe/Berlin")
    user = person("Europe/Berlin", "tue 17:00", AUTUMN)
    week_two = dt.datetime(2026, 10, 21, 12, tzinfo=UTC)
    apply(user, read_schedule("moved to thu 29 oct 9:00", week_two, tz), week_two)
    # A memo on Wed 28 Oct belongs to Tue 20 Oct (27 Oct did not happen) ...
    wed = dt.datetime(2026, 10, 28, 12, tzinfo=UTC)
    assert last_therapy(user, wed) == (dt.date(2026, 10, 20), dt.datetime(2026, 10, 20, 15, 0))
    # ... one on Thu 29 Oct after 9:00 to the moved session (CET from 25 Oct: 08:00 UTC).
    thu = dt.datetime(2026, 10, 29, 10, tzinfo=UTC)
    assert last_therapy(user, thu) == (dt.date(2026, 10, 29), dt.datetime(2026, 10, 29, 8, 0))


def test_a_skip_or_move_with_nothing_ahead_says_so() -> None:
    user = person("Europe/Berlin", "irregular", AUTUMN)
    with pytest.raises(ValueError, match="no session ahead"):
        apply(
            user, read_schedule("no session next week", AUTUMN, ZoneInfo("Europe/Berlin")), AUTUMN
        )
    with pytest.raises(ValueError, match="already passed"):
        later = AUTUMN + dt.timedelta(days=3)
        apply(user, read_schedule("next mon 9:00", AUTUMN, ZoneInfo("Europe/Berlin")), later)
