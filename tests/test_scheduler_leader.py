"""One scheduler among replicas (bot/leader.py): only the leader fires, another takes over.

PostgreSQL only: replicas share one PostgreSQL database (on SQLite there is one process, which
always leads; every other test covers that). `make test` runs this file on its PostgreSQL run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import build_application
from bot.config import Settings
from bot.context import BetweenApp, Services
from bot.jobs import trigger
from bot.jobs.queue import find_job
from bot.leader import CHANNEL
from storage.models import Trigger, TriggerStatus
from storage.sessions import utcnow
from tests.support.bot_process import bot_process
from tests.support.eventually import eventually
from tests.support.rows import add_reflection, add_user, db_of, open_db, triggers_of
from tests.support.telegram_server import TelegramTestServer

FAST_CHECKS = {"SCHEDULER_CHECK_SECONDS": "0.5"}
LEADS = "this replica now runs the scheduled jobs"
WAITS = "another replica runs the scheduled jobs"


@pytest.fixture(autouse=True)
def _postgres_only(database_kind: str) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL only: replicas share a PostgreSQL database; make test runs it")


async def _add_ping(db, user_id: int, reflection_id: int, seconds: float) -> int:  # type: ignore[no-untyped-def]
    """A one-off time trigger due `seconds` from now; returns its id."""
    due = utcnow() + timedelta(seconds=seconds)
    async with db() as s, s.begin():
        row = Trigger(
            user_id=user_id,
            reflection_id=reflection_id,
            kind="time",
            status=TriggerStatus.ACTIVE,
            recurrence="once",
            at_time=due.time().replace(second=0, microsecond=0),
            once_at=due,
            next_fire_at=due,
            cue=f"in {seconds:g} s",
        )
        s.add(row)
        await s.flush()
        return row.id


async def _tell_leader(db, user_id: int) -> None:  # type: ignore[no-untyped-def]
    """What a replica sends when a person's jobs changed there (bot/leader.Leadership.changed)."""
    async with db() as s, s.begin():
        await s.execute(text("SELECT pg_notify(:c, :u)"), {"c": CHANNEL, "u": str(user_id)})


async def test_only_the_leader_fires_and_when_it_dies_the_other_fires_the_next_ping_once(
    server: TelegramTestServer, tmp_path: Path, database_url: str
) -> None:
    engine, db = await open_db(tmp_path)
    await add_user(db, 901, followup_hours=24)
    rid = await add_reflection(db, 901, "Rest is not a prize")
    alice = server.person(user_id=901)
    try:
        async with bot_process(server, tmp_path, database_url, "a", 1, FAST_CHECKS) as a:
            assert await eventually(lambda: LEADS in a.output(), 60), a.output()
            async with bot_process(server, tmp_path, database_url, "b", 2, FAST_CHECKS) as b:
                assert await eventually(lambda: WAITS in b.output(), 60), b.output()

                # both up: a ping set now is fired by the leader alone
                first = await _add_ping(db, 901, rid, 2)
                await _tell_leader(db, 901)
                ping = await alice.next_message(timeout=20)
                assert ping.text.startswith("Rest is not a prize"), (a.output(), b.output())
                assert await alice.no_message_within(2.0), "fired by one replica only"

                # the leader dies before the next one is due: the other takes over and fires it
                second = await _add_ping(db, 901, rid, 3)
                a.kill()
                assert await eventually(lambda: LEADS in b.output(), 30), b.output()
                ping = await alice.next_message(timeout=30)
                assert ping.text.startswith("Rest is not a prize"), b.output()
                assert await alice.no_message_within(2.0), "sent once"
        fired = {row.id: (row.status, row.fire_count) for row in await triggers_of(db, 901)}
        assert fired == {first: (TriggerStatus.DONE, 1), second: (TriggerStatus.DONE, 1)}
    finally:
        await engine.dispose()


@asynccontextmanager
async def quiet_replica(settings: Settings, transcriber: object) -> AsyncIterator[BetweenApp]:
    """A replica that receives no updates (no polling) but may run the scheduled jobs."""
    services = Services(settings=settings, transcriber=transcriber)  # type: ignore[arg-type]
    app = build_application(settings, services)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()  # lets background work finish first
        services.transcriber = None  # shared across tests
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


async def test_a_trigger_set_on_a_replica_that_does_not_lead_is_fired_by_the_leader(
    server: TelegramTestServer, make_settings, transcriber, start_bot
) -> None:
    settings = make_settings(scheduler_check_seconds=0.5)
    async with quiet_replica(settings, transcriber) as leader:
        assert leader.bot_data.leadership is not None and leader.bot_data.leadership.leading
        async with start_bot(scheduler_check_seconds=0.5) as other:
            assert other.bot_data.leadership is not None
            assert not other.bot_data.leadership.leading
            db = db_of(other)
            await add_user(db, 902, followup_hours=24)
            await add_reflection(db, 902, "I can leave at six")
            alice = server.person(user_id=902)
            alice.command("trigger", "in", "0.05", "minutes", "evening", "walk")  # 3 s ahead
            assert (await alice.next_message()).text.startswith("Set: ")
            (row,) = await triggers_of(db, 902)
            assert find_job(other.job_queue, trigger.job_name(row.id)) is None  # not kept here
            assert await eventually(
                lambda: find_job(leader.job_queue, trigger.job_name(row.id)) is not None, 10
            ), "the leader derived the new trigger's job"

            ping = await alice.next_message(timeout=15)
            assert ping.text.startswith("I can leave at six") and "evening walk" in ping.text
            assert await alice.no_message_within(2.0)
            (row,) = await triggers_of(db, 902)
            assert (row.status, row.fire_count) == (TriggerStatus.DONE, 1)
