"""The evening prompt: pure time rules (zones, DST, catch-up) and one real fire end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.jobs import evening, rebuild_all, reschedule_user
from bot.jobs.evening import day_offset, job_name
from bot.schedule import Schedule
from storage.models import Reflection, ReflectionStatus, TherapySession, User
from storage.sessions import utcnow
from tests.support.eventually import eventually
from tests.support.telegram_server import TelegramTestServer

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TUE = 1
EVENING = time(20, 30)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(day: int, at: time, tz: ZoneInfo) -> Schedule:
    return Schedule(tz, weekday=day, at=at)


def next_evening(day: int, at: time, evening_time: time, tz: ZoneInfo, after: datetime) -> datetime:
    """The next prompt of a weekly schedule (the session beside it is checked elsewhere)."""
    found = evening.next_evening(weekly(day, at, tz), evening_time, after)
    assert found is not None
    return found[0]


def last_evening(day: int, at: time, evening_time: time, tz: ZoneInfo, now: datetime) -> datetime:
    found = evening.last_evening(weekly(day, at, tz), evening_time, now)
    assert found is not None
    return found[0]


def plan_evening(
    day: int,
    at: time,
    evening_time: time,
    tz: ZoneInfo,
    now: datetime,
    handled: date | None,
    catch_up: bool = True,
) -> tuple[datetime, datetime]:
    found = evening.plan_evening(weekly(day, at, tz), evening_time, now, handled, catch_up)
    assert found is not None
    return found[0], found[1]


def weekly_fires(tz: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    """Runs the schedule like the job does: fire, then plan from just after the fire."""
    fires, now = [], start
    for _ in range(count):
        fire = next_evening(TUE, time(17), EVENING, tz, now)
        fires.append(fire)
        now = fire + timedelta(seconds=1)
    return fires


def test_two_zones_get_2030_local_across_the_autumn_dst_change() -> None:
    start = utc(2026, 10, 12)
    berlin = weekly_fires(BERLIN, start, 4)
    new_york = weekly_fires(NEW_YORK, start, 4)
    # Berlin leaves summer time on Sun 25 Oct 2026: 18:30 UTC before, 19:30 UTC after
    assert berlin == [
        utc(2026, 10, 13, 18, 30),
        utc(2026, 10, 20, 18, 30),
        utc(2026, 10, 27, 19, 30),
        utc(2026, 11, 3, 19, 30),
    ]
    # New York changes a week later (Sun 1 Nov): 00:30 UTC the next day before, 01:30 after
    assert new_york == [
        utc(2026, 10, 14, 0, 30),
        utc(2026, 10, 21, 0, 30),
        utc(2026, 10, 28, 0, 30),
        utc(2026, 11, 4, 1, 30),
    ]
    for fire in berlin:
        local = fire.astimezone(BERLIN)
        assert (local.weekday(), local.time()) == (TUE, EVENING)
    for fire in new_york:
        local = fire.astimezone(NEW_YORK)
        assert (local.weekday(), local.time()) == (TUE, EVENING)


def test_spring_forward_week_still_fires_at_2030_local() -> None:
    # Berlin jumps to summer time on Sun 29 Mar 2026; a Sunday therapy's evening is unaffected
    fire = next_evening(6, time(11), EVENING, BERLIN, utc(2026, 3, 28))
    assert fire == utc(2026, 3, 29, 18, 30)
    assert next_evening(6, time(11), EVENING, BERLIN, fire) == utc(2026, 4, 5, 18, 30)


def test_exactly_once_per_week_with_a_fake_clock() -> None:
    """A clock ticking every 10 minutes for three weeks sees each prompt due exactly once."""
    tz, now, handled, sent = BERLIN, utc(2026, 10, 12), None, []
    run_at, due = plan_evening(TUE, time(17), EVENING, tz, now, handled)
    end = now + timedelta(weeks=3)
    while now < end:
        now += timedelta(minutes=10)
        if now >= run_at:
            sent.append(due)
            handled = due.astimezone(tz).date()
            run_at, due = plan_evening(TUE, time(17), EVENING, tz, now, handled)
    assert sent == [
        utc(2026, 10, 13, 18, 30),
        utc(2026, 10, 20, 18, 30),
        utc(2026, 10, 27, 19, 30),
    ]


def test_late_session_moves_the_prompt_to_the_next_day() -> None:
    assert day_offset(time(17), EVENING) == 0
    assert day_offset(time(19, 30), EVENING) == 0  # exactly an hour after: same evening
    assert day_offset(time(19, 45), EVENING) == 1
    assert day_offset(time(21), EVENING) == 1
    # therapy Tue 20:00 with the evening at 20:30: Wed 20:30
    found = evening.next_evening(weekly(TUE, time(20), BERLIN), EVENING, utc(2026, 10, 12))
    assert found is not None
    fire, session = found
    assert fire.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 14, 20, 30)
    assert session.astimezone(BERLIN).date() == date(2026, 10, 13)  # the prompt is about Tue
    # therapy Sun late: the prompt wraps round to Monday
    fire = next_evening(6, time(20), EVENING, BERLIN, utc(2026, 10, 12))
    assert fire.astimezone(BERLIN).weekday() == 0


def test_missed_prompt_is_caught_up_within_three_hours_only() -> None:
    due = utc(2026, 10, 13, 18, 30)
    assert last_evening(TUE, time(17), EVENING, BERLIN, due) == due
    assert last_evening(TUE, time(17), EVENING, BERLIN, due - timedelta(seconds=1)) == utc(
        2026, 10, 6, 18, 30
    )
    # down over the evening, back an hour later: send it now, once
    now = due + timedelta(hours=1)
    assert plan_evening(TUE, time(17), EVENING, BERLIN, now, None) == (now, due)
    # already handled that day: next week
    handled = date(2026, 10, 13)
    nxt = utc(2026, 10, 20, 18, 30)
    assert plan_evening(TUE, time(17), EVENING, BERLIN, now, handled) == (nxt, nxt)
    # back four hours later: too late for tonight, skip to next week
    late = due + timedelta(hours=4)
    assert plan_evening(TUE, time(17), EVENING, BERLIN, late, None) == (nxt, nxt)
    # a settings change that evening (not a startup) never prompts on the spot
    assert plan_evening(TUE, time(17), EVENING, BERLIN, now, None, catch_up=False) == (nxt, nxt)


def _zone_at(local_hour: int) -> tuple[str, ZoneInfo]:
    """A whole-hour fixed-offset zone where it is `local_hour`:xx now."""
    hours = (local_hour - datetime.now(UTC).hour + 12) % 24 - 12  # offset -12..+11
    name = "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    return name, ZoneInfo(name)


async def _setup(app, user_id: int, zone: str, evening_at: time, weekday: int) -> None:
    async with app.bot_data.sessionmaker() as s, s.begin():
        s.add(
            User(
                id=user_id,
                chat_id=user_id,
                timezone=zone,
                therapy_weekday=weekday,
                therapy_time=time(0, 0),
                evening_time=evening_at,
                onboarded=True,
            )
        )
    await reschedule_user(app, user_id)


async def test_evening_prompt_fires_once_for_two_people(
    server: TelegramTestServer, start_bot
) -> None:
    # therapy at 00:00 and the evening 3 s from now: both zones are well past 01:00 locally
    name, tz = _zone_at(12)
    other_name, _ = _zone_at(18)
    async with start_bot() as app:
        alice = server.person(user_id=301, first_name="Alice")
        bob = server.person(user_id=302, first_name="Bob")
        soon = datetime.now(tz) + timedelta(seconds=3)
        await _setup(app, 301, name, soon.time(), soon.weekday())
        # Bob is somewhere else: his local time and weekday differ, the same 3 s ahead
        bob_soon = datetime.now(ZoneInfo(other_name)) + timedelta(seconds=3)
        await _setup(app, 302, other_name, bob_soon.time(), bob_soon.weekday())
        # a saved reflection for Bob's today: his prompt is not needed
        async with app.bot_data.sessionmaker() as s, s.begin():
            session = TherapySession(user_id=302, started_at=utcnow(), local_date=bob_soon.date())
            s.add(session)
            await s.flush()
            s.add(
                Reflection(
                    user_id=302,
                    session_id=session.id,
                    status=ReflectionStatus.SAVED,
                    version=1,
                    step=4,
                    answer_what="x",
                    paragraph="X.",
                    saved_at=utcnow(),
                )
            )
        prompt = await alice.next_message(timeout=8)
        assert "evening after your session" in prompt.text
        assert "Nothing was captured today" in prompt.text
        day = f"{soon:%Y%m%d}"  # Later, for the prompt of this local date (tonight has passed)
        assert prompt.buttons == [
            [("Start", "refl:start")],
            [("💤 20 min", f"sz:e:{day}:20"), ("💤 1 h", f"sz:e:{day}:60")],
        ]
        assert await alice.no_message_within(1.5)
        assert await bob.no_message_within(0.1)

        async with app.bot_data.sessionmaker() as s:
            row = await s.scalar(select(User).where(User.id == 301))
            bob_row = await s.scalar(select(User).where(User.id == 302))
        assert row is not None and row.last_evening_prompt_on == soon.date()
        assert bob_row is not None and bob_row.last_evening_prompt_on == bob_soon.date()
        # the next one is a week on, at the same local time
        for user_id, zone in ((301, tz), (302, ZoneInfo(other_name))):
            (job,) = app.job_queue.get_jobs_by_name(job_name(user_id))
            local = job.next_t.astimezone(zone)
            assert local.weekday() == (soon if user_id == 301 else bob_soon).weekday()
            assert local.date() > datetime.now(zone).date() + timedelta(days=5)

        # the startup catch-up on the same evening does not send it again
        await rebuild_all(app)
        assert await alice.no_message_within(1.0)

        # the button starts the reflection with the cue and question 1
        alice.press("Start")
        assert "Nothing was captured" in (await alice.next_message()).text
        await alice.next_message()  # how it works
        assert "What was the thing?" in (await alice.next_message()).text


async def test_no_prompt_without_therapy_day_or_when_turned_off(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        async with app.bot_data.sessionmaker() as s, s.begin():
            s.add(User(id=311, chat_id=311, timezone="UTC", onboarded=True))
            s.add(
                User(
                    id=312,
                    chat_id=312,
                    timezone="UTC",
                    onboarded=True,
                    therapy_weekday=1,
                    therapy_time=time(17),
                    evening_time=EVENING,
                )
            )
        await reschedule_user(app, 311)
        await reschedule_user(app, 312)
        assert not app.job_queue.get_jobs_by_name(job_name(311))
        assert len(app.job_queue.get_jobs_by_name(job_name(312))) == 1
        async with app.bot_data.sessionmaker() as s, s.begin():
            row = await s.get(User, 312)
            assert row is not None
            row.evening_time = None
        await reschedule_user(app, 312)
        # schedule_removal is applied by the scheduler thread
        assert await eventually(lambda: not app.job_queue.get_jobs_by_name(job_name(312)), 5)


async def test_prompt_missed_while_down_is_sent_once_after_restart(
    server: TelegramTestServer, start_bot
) -> None:
    name, tz = _zone_at(12)
    an_hour_ago = datetime.now(tz) - timedelta(hours=1)
    frank = server.person(user_id=321, first_name="Frank")
    async with start_bot() as app:
        async with app.bot_data.sessionmaker() as s, s.begin():
            s.add(
                User(
                    id=321,
                    chat_id=321,
                    timezone=name,
                    therapy_weekday=an_hour_ago.weekday(),
                    therapy_time=time(0, 0),
                    evening_time=an_hour_ago.time().replace(microsecond=0),
                    onboarded=True,
                )
            )
        # a settings change is not a startup: no prompt for an evening that already passed
        await reschedule_user(app, 321)
        assert await frank.no_message_within(1.0)
    async with start_bot():
        prompt = await frank.next_message(timeout=5)
        assert "evening after your session" in prompt.text
        assert await frank.no_message_within(1.0)
    async with start_bot():
        assert await frank.no_message_within(1.5)
