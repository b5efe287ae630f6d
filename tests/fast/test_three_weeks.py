"""Three weeks lived through the real bot with the clock fast-forwarded: every prompt, ping,
follow-up and digest on its local day, once.

Two people: Berlin, every other Tuesday 17:00; New York, irregular (they give each next
session when asked). Both set a weekly ping "every thu 08:00" on a saved paragraph. The
clock (time-machine) jumps from one scheduled job to the next: the test asks PTB's
JobQueue for the earliest job, moves the clock there and wakes APScheduler, so every job
runs exactly when it was planned, through the real handlers, jobs, database and the
in-process Bot API. It starts on Mon 19 Oct 2026 and crosses both zones' autumn change
(Berlin 25 Oct, New York 1 Nov).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import time_machine

from bot import texts
from tests.support.fast import FastBot
from tests.support.rows import add_reflection, add_user, db_of

UTC = dt.UTC
START = dt.datetime(2026, 10, 19, 6, 0, tzinfo=UTC)
END = START + dt.timedelta(weeks=3)
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def kind(text: str) -> str | None:
    if text.startswith(texts.EVENING_PROMPT.split("{")[0][:30]):
        return "evening"
    if text.startswith((texts.DIGEST_HEAD, texts.DIGEST_HEAD_TODAY)):
        return "digest"
    if text.startswith(texts.FOLLOWUP_ASK.split("{")[0][:20]):
        return "followup"
    if "morning walk" in text and "<b>" not in text and text.count("\n") >= 2:
        return "ping"
    return None


async def next_job(bot: FastBot, traveller: time_machine.Traveller, end: dt.datetime) -> bool:
    """Moves the clock to the earliest scheduled job and lets it run; False when none is due
    before `end`."""
    scheduler = bot.app.job_queue.scheduler
    due = [j.next_run_time for j in scheduler.get_jobs() if j.next_run_time is not None]
    if not due or min(due) > end:
        return False
    traveller.move_to(min(due) + dt.timedelta(milliseconds=1))
    scheduler.wakeup()  # runs in the loop's next turn (call_soon_threadsafe)
    for _ in range(3):
        await asyncio.sleep(0)
    for _ in range(200):  # the jobs' coroutines run as tasks of APScheduler's executor
        running = [
            t
            for t in asyncio.all_tasks()
            if not t.done() and "run_coroutine_job" in repr(t.get_coro())
        ]
        if not running:
            break
        await asyncio.gather(*running, return_exceptions=True)
    await bot.settle()
    return True


async def test_two_schedules_live_three_weeks(bot: FastBot) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        db = db_of(bot.app)
        people = {
            101: ("Europe/Berlin", "every other tue 17:00"),
            202: ("America/New_York", "irregular"),
        }
        for user_id, (zone, phrase) in people.items():
            await add_user(db, user_id, tz=zone)
            await add_reflection(db, user_id, "I can say no", landed="I can say no")
            person = bot.person(user_id, f"P{user_id}")
            await bot(person.command("session", *phrase.split()))
            await bot(person.command("trigger", "every", "thu", "08:00", "morning", "walk"))
        irregular = bot.person(202, "P202")
        await bot(irregular.command("session", "next", "wed", "18:00"))  # Wed 21 Oct
        for user_id in people:
            bot.api.persons[user_id].take_all()

        # The irregular person answers each evening prompt's day with their next session.
        given = iter(["thu 29 oct 18:00", "mon 2 nov 9:00"])
        seen: dict[int, list[tuple[str, dt.date, dt.time]]] = {101: [], 202: []}
        for _ in range(500):  # more jobs than three weeks of these need
            if not await next_job(bot, traveller, END):
                break
            for user_id, (zone, _) in people.items():
                for message in bot.api.persons[user_id].take_all():
                    what = kind(message.text or "")
                    if what is None:
                        continue
                    local = dt.datetime.fromtimestamp(message.date, ZoneInfo(zone))
                    seen[user_id].append(
                        (what, local.date(), local.time().replace(second=0, microsecond=0))
                    )
                    if user_id == 202 and what == "evening" and (nxt := next(given, None)):
                        await bot(irregular.command("session", *nxt.split()))
                        bot.api.persons[202].take_all()

    def days(user_id: int, what: str) -> list[str]:
        return [f"{d:%a %d %b} {t:%H:%M}" for k, d, t in seen[user_id] if k == what]

    # Berlin, every other Tuesday (20 Oct, 3 Nov; not 27 Oct), 20:30 on both sides of 25 Oct
    assert days(101, "evening") == ["Tue 20 Oct 20:30", "Tue 03 Nov 20:30"]
    assert days(101, "digest") == ["Mon 19 Oct 20:30", "Mon 02 Nov 20:30"]
    assert days(101, "ping") == ["Thu 22 Oct 08:00", "Thu 29 Oct 08:00", "Thu 05 Nov 08:00"]
    assert days(101, "followup") == ["Thu 22 Oct 11:00", "Thu 29 Oct 11:00", "Thu 05 Nov 11:00"]
    # New York, irregular: Wed 21 Oct, then Thu 29 Oct and Mon 2 Nov as they were given
    assert days(202, "evening") == ["Wed 21 Oct 20:30", "Thu 29 Oct 20:30", "Mon 02 Nov 20:30"]
    # none on Sun 1 Nov: nothing happened since the 29 Oct session (its ping was that morning),
    # and a week with nothing in it sends nothing
    assert days(202, "digest") == ["Tue 20 Oct 20:30", "Wed 28 Oct 20:30"]
    assert days(202, "ping") == ["Thu 22 Oct 08:00", "Thu 29 Oct 08:00", "Thu 05 Nov 08:00"]
    assert days(202, "followup") == ["Thu 22 Oct 11:00", "Thu 29 Oct 11:00", "Thu 05 Nov 11:00"]
    for user_id in people:  # once each: no day has two of a kind
        assert max(Counter((k, d) for k, d, _ in seen[user_id]).values()) == 1
