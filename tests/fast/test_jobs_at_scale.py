"""Many people's jobs: registered by name without walking the whole queue, never twice, fired
a bounded number at a time when they fall due together, and tried again when the database
refuses one for a moment (bench/fanout.py has the figures)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from telegram.ext import JobQueue

from bot.context import FIRINGS_AT_ONCE
from bot.jobs import rebuild_all, trigger
from storage.models import Trigger, TriggerKind, TriggerStatus
from storage.sessions import utcnow
from storage.triggers import TriggerRepository
from tests.support.eventually import eventually
from tests.support.rows import add_reflection, add_user, open_db

PEOPLE = range(301, 341)


async def _people_with_triggers(
    tmp_path: Path, due_in: timedelta, *, therapy: bool = True
) -> dict[int, int]:
    """PEOPLE, each with a paragraph and a daily trigger (and a therapy day, so an evening and
    a digest job too); {person: trigger id}."""
    engine, db = await open_db(tmp_path)
    due = utcnow() + due_in
    ids = {}
    for uid in PEOPLE:
        # therapy three days ahead: no evening prompt or digest is due, or caught up, now
        weekday = (utcnow().weekday() + 3) % 7
        days = {"therapy_weekday": weekday, "therapy_time": time(17, 0)} if therapy else {}
        await add_user(db, uid, tz="UTC", **days)
        rid = await add_reflection(db, uid, f"I can say no {uid}")
        async with db() as s, s.begin():
            row = Trigger(
                user_id=uid,
                reflection_id=rid,
                kind=TriggerKind.TIME,
                status=TriggerStatus.ACTIVE,
                recurrence="daily",
                at_time=due.time().replace(second=0, microsecond=0),
                next_fire_at=due,
            )
            s.add(row)
            await s.flush()
            ids[uid] = row.id
    await engine.dispose()
    return ids


async def test_jobs_are_registered_by_name_without_walking_every_job(
    start_bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _people_with_triggers(tmp_path, timedelta(hours=3))
    walks = 0
    jobs = JobQueue.jobs

    def walking(self: JobQueue, pattern: object = None) -> tuple:  # type: ignore[type-arg]
        nonlocal walks
        walks += 1
        return jobs(self, pattern)  # type: ignore[arg-type]

    monkeypatch.setattr(JobQueue, "jobs", walking)
    async with start_bot() as bot:  # post_init registers everyone's jobs, scheduler stopped
        await rebuild_all(bot.app)  # and again on a running one: replaced, never added
        assert walks == 0, "registering one job walked the whole queue (quadratic at startup)"
        monkeypatch.undo()
        names = Counter(job.name for job in bot.app.job_queue.jobs())
    expected = {"tidy"} | {f"trigger:{ids[uid]}" for uid in PEOPLE}
    expected |= {f"{kind}:{uid}" for uid in PEOPLE for kind in ("evening", "digest")}
    assert expected <= set(names)
    assert {name: n for name, n in names.items() if n > 1} == {}, "a job registered twice"


async def test_triggers_due_together_fire_a_bounded_number_at_once(
    start_bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # due half a minute ago: all caught up at once at startup (and nothing else is due)
    await _people_with_triggers(tmp_path, -timedelta(seconds=30), therapy=False)
    running = most = 0
    send = trigger.send

    async def slow_send(*args: object) -> int | None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.02)  # the database and Telegram take a moment
            return await send(*args)  # type: ignore[arg-type]
        finally:
            running -= 1

    monkeypatch.setattr(trigger, "send", slow_send)
    async with start_bot() as bot:
        people = [bot.person(uid) for uid in PEOPLE]
        assert await eventually(lambda: all(p.messages for p in people), within=20)
        await asyncio.sleep(0.2)
        pings = {p.user_id: [m.text for m in p.messages] for p in people}
    assert {uid: len(texts) for uid, texts in pings.items() if len(texts) != 1} == {}
    assert all(texts[0].startswith(f"I can say no {uid}") for uid, texts in pings.items())
    assert 1 < most <= FIRINGS_AT_ONCE < len(PEOPLE)


async def test_a_firing_the_database_refused_is_tried_again_and_sent_once(
    start_bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _people_with_triggers(tmp_path, -timedelta(seconds=30), therapy=False)
    refused: set[int] = set()
    record_firing = TriggerRepository.record_firing

    async def locked_once(self: TriggerRepository, user_id: int, *args: Any, **kwargs: Any) -> bool:
        if user_id % 2 and user_id not in refused:  # every other person's first try
            refused.add(user_id)
            raise OperationalError("UPDATE triggers ...", {}, sqlite3.OperationalError("locked"))
        return await record_firing(self, user_id, *args, **kwargs)

    monkeypatch.setattr(TriggerRepository, "record_firing", locked_once)
    async with start_bot() as bot:
        people = [bot.person(uid) for uid in PEOPLE]
        assert await eventually(lambda: all(p.messages for p in people), within=20)
        await asyncio.sleep(0.2)
        counts = {p.user_id: len(p.messages) for p in people}
    assert len(refused) == len(PEOPLE) // 2
    assert {uid: n for uid, n in counts.items() if n != 1} == {}
