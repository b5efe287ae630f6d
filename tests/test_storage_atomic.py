"""Storage under concurrency and across databases: one row per person and per session, UTC.

Every test runs on the `database_url` fixture (a fresh SQLite file, or a fresh PostgreSQL
database when BETWEEN_TEST_DATABASE_URL is set), so the same checks hold on both.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.erasure import erase_everything
from storage.db import alembic_config, create_engine, create_sessionmaker, migrate, ours
from storage.models import (
    Base,
    Capture,
    CaptureKind,
    CaptureStatus,
    ConversationState,
    Recall,
    RecallSource,
    Reflection,
    ReflectionStatus,
    TherapySession,
    Trigger,
    TriggerKind,
    TriggerStatus,
    User,
)
from storage.personal import personal_tables
from storage.reflections import ReflectionRepository
from storage.sessions import SessionRepository, utcnow
from storage.users import UserRepository

N = 10


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


def _close_to_now(value: datetime | None) -> bool:
    now = datetime.now(UTC).replace(tzinfo=None)
    return value is not None and abs(now - value) < timedelta(minutes=1)


# --------------------------------------------------------------------------- one row each


async def test_concurrent_first_contacts_create_one_user_row(engine: AsyncEngine) -> None:
    db = create_sessionmaker(engine)
    start = asyncio.Barrier(N)

    async def first_contact(chat_id: int) -> User:
        async with db() as s, s.begin():
            await _connected(s, start)
            return await UserRepository(s).get_or_create(42, chat_id, "Europe/Berlin")

    users = await asyncio.gather(*(first_contact(42) for _ in range(N)))
    assert {u.id for u in users} == {42}
    assert all(u.timezone == "Europe/Berlin" and u.chat_id == 42 for u in users)
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1
    # the chat id still follows the person when it changes
    async with db() as s, s.begin():
        moved = await UserRepository(s).get_or_create(42, 4242, "UTC")
        assert (moved.chat_id, moved.timezone) == (4242, "Europe/Berlin")
    async with db() as s:
        stored = await s.get(User, 42)
        assert stored is not None and stored.chat_id == 4242


async def _connected(session: AsyncSession, start: asyncio.Barrier) -> None:
    """Opens this session's own connection, then waits until all N have one: a real race."""
    await session.execute(text("SELECT 1"))
    await start.wait()


async def _together(engine: AsyncEngine, now: datetime, day: date, therapy: datetime | None):
    """N captures arriving at once, each in its own session and transaction, as the bot does."""
    db = create_sessionmaker(engine)
    start = asyncio.Barrier(N)

    async def capture(i: int) -> tuple[int, bool]:
        async with db() as s, s.begin():
            await _connected(s, start)
            session, created = await SessionRepository(s).current_or_new(1, now, day, therapy)
            s.add(
                Capture(
                    user_id=1,
                    session_id=session.id,
                    kind=CaptureKind.TEXT,
                    status=CaptureStatus.SAVED,
                    text=f"note {i}",
                    chat_id=1,
                    created_at=utcnow(),
                )
            )
            return session.id, created

    return await asyncio.gather(*(capture(i) for i in range(N)))


async def _sessions(engine: AsyncEngine) -> list[TherapySession]:
    async with create_sessionmaker(engine)() as s:
        return list(await s.scalars(select(TherapySession).order_by(TherapySession.id)))


async def test_concurrent_captures_open_one_session(engine: AsyncEngine) -> None:
    async with create_sessionmaker(engine)() as s, s.begin():
        await UserRepository(s).get_or_create(1, 1, "UTC")
    now = datetime(2026, 11, 24, 18, 0)
    results = await _together(engine, now, date(2026, 11, 24), None)
    assert len({sid for sid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    (only,) = await _sessions(engine)
    # an hour later they all join it (a read, then a write, in each transaction)
    results = await _together(engine, now + timedelta(hours=1), date(2026, 11, 24), None)
    assert results == [(only.id, False)] * N
    async with create_sessionmaker(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Capture)) == 2 * N
    # a day later (past 24 h) the next burst opens exactly one more, again
    results = await _together(engine, now + timedelta(hours=25), date(2026, 11, 25), None)
    assert len({sid for sid, _ in results}) == 1 and results[0][0] != only.id
    assert sum(created for _, created in results) == 1
    assert len(await _sessions(engine)) == 2


async def test_concurrent_reflections_on_a_therapy_day_open_one_session(
    engine: AsyncEngine,
) -> None:
    db = create_sessionmaker(engine)
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(1, 1, "UTC")
    therapy = (date(2026, 11, 24), datetime(2026, 11, 24, 16, 0))
    evening = datetime(2026, 11, 24, 20, 30)

    async def reflect() -> int:
        async with db() as s, s.begin():
            row = await ReflectionRepository(s).session_to_reflect(1, evening, therapy[0], therapy)
            return row.id

    ids = await asyncio.gather(*(reflect() for _ in range(N)))
    assert len(set(ids)) == 1
    (only,) = await _sessions(engine)
    assert (only.local_date, only.started_at) == therapy
    # a capture later that evening joins the same session
    async with db() as s, s.begin():
        joined, created = await SessionRepository(s).current_or_new(
            1, evening, therapy[0], therapy[1]
        )
    assert (joined.id, created) == (only.id, False)


async def test_concurrent_captures_in_a_new_therapy_hour_open_one_session(
    engine: AsyncEngine,
) -> None:
    db = create_sessionmaker(engine)
    monday_evening = datetime(2026, 11, 23, 19, 0)
    tuesday_therapy = datetime(2026, 11, 24, 16, 0)
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(1, 1, "UTC")
        note, created = await SessionRepository(s).current_or_new(
            1, monday_evening, date(2026, 11, 23), tuesday_therapy - timedelta(days=7)
        )
        assert created
    during = tuesday_therapy + timedelta(minutes=20)
    results = await _together(engine, during, date(2026, 11, 24), tuesday_therapy)
    assert len({sid for sid, _ in results}) == 1 and results[0][0] != note.id
    assert sum(created for _, created in results) == 1
    monday, tuesday = await _sessions(engine)
    assert (monday.id, tuesday.local_date, tuesday.started_at) == (
        note.id,
        date(2026, 11, 24),
        during,
    )


async def test_a_day_slot_held_by_a_session_older_than_24_hours_is_not_reused(
    engine: AsyncEngine,
) -> None:
    """A local day can outlast 24 h (a zone change, a DST day): the old session is not reused."""
    db = create_sessionmaker(engine)
    day = date(2026, 11, 24)
    first = datetime(2026, 11, 24, 0, 10)  # early on the 24th in one zone...
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(1, 1, "UTC")
        old, _ = await SessionRepository(s).current_or_new(1, first, day)
    later = first + timedelta(hours=24, minutes=30)  # ...still the 24th after moving west
    results = await _together(engine, later, day, None)
    assert len({sid for sid, _ in results}) == 1 and results[0][0] != old.id
    assert sum(created for _, created in results) == 1
    assert len(await _sessions(engine)) == 2
    async with db() as s, s.begin():  # and that session is the current one from then on
        again, created = await SessionRepository(s).current_or_new(
            1, later + timedelta(hours=1), day
        )
        assert (again.id, created) == (results[0][0], False)


# --------------------------------------------------------------------------- UTC timestamps


async def test_timestamps_are_utc_whatever_the_server_zone(engine: AsyncEngine) -> None:
    db = create_sessionmaker(engine)
    async with db() as s, s.begin():
        user = await UserRepository(s).get_or_create(5, 5, "Asia/Tokyo")
        session, _ = await SessionRepository(s).current_or_new(5, utcnow(), date.today())
        reflection = Reflection(
            user_id=5, session_id=session.id, status=ReflectionStatus.SAVED, paragraph="p"
        )
        s.add(reflection)
        await s.flush()
        trigger = Trigger(
            user_id=5, reflection_id=reflection.id, kind=TriggerKind.SITUATION, cue="c"
        )
        trigger.status = TriggerStatus.ACTIVE
        s.add(trigger)
        await s.flush()
        s.add(Recall(user_id=5, reflection_id=reflection.id, source=RecallSource.COMMAND))
        s.add(ConversationState(name="reflection", key="[5, 5]", user_id=5, state="{}"))
    async with db() as s, s.begin():
        state = await s.get(ConversationState, ("reflection", "[5, 5]"))
        assert state is not None
        state.updated_at = datetime(2000, 1, 1)
    async with db() as s, s.begin():
        state = await s.get(ConversationState, ("reflection", "[5, 5]"))
        assert state is not None
        state.state = '{"step": 2}'  # an update without a timestamp stamps it now
    async with db() as s:
        for model in (User, Reflection, Trigger, Recall):
            stamp = await s.scalar(select(model.created_at))
            assert _close_to_now(stamp), (model.__tablename__, stamp, user.timezone)
        assert _close_to_now(await s.scalar(select(ConversationState.updated_at)))


async def test_migrations_leave_no_server_defaults(engine: AsyncEngine) -> None:
    def diff(connection):
        context = MigrationContext.configure(
            connection, opts={"compare_server_default": True, "include_name": ours}
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_upgrading_a_filled_database_keeps_rows_and_makes_server_times_utc(
    database_url: str, database_kind: str
) -> None:
    """0001 → head on a database the old code wrote, with the server's clock in Tokyo."""
    engine = create_engine(database_url)

    def to(revision: str):
        def run(connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        return run

    async with engine.begin() as conn:
        await conn.run_sync(to("0001"))
    if database_kind == "postgresql":
        async with engine.connect() as conn:
            name = await conn.scalar(text("SELECT current_database()"))
            await conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Tokyo'"))
            await conn.commit()
        await engine.dispose()  # new connections see Tokyo as the server's zone
    explicit = datetime(2026, 11, 24, 7, 30, 15)  # written by Python, already UTC
    rows = [
        "INSERT INTO users (id, chat_id, timezone, pin_paragraph, followup_hours, keep_audio,"
        " onboarded) VALUES (1, 1, 'UTC', true, 3, false, true)",
        "INSERT INTO therapy_sessions (id, user_id, started_at, local_date)"
        " VALUES (1, 1, '2026-11-24 07:00:00', '2026-11-24'),"
        " (2, 1, '2026-11-25 07:00:00', '2026-11-25')",
        "INSERT INTO captures (user_id, session_id, kind, status, text, landed, chat_id,"
        " attempts, created_at) VALUES (1, 1, 'text', 'saved', 'kept', false, 1, 0, :at)",
        "INSERT INTO reflections (id, user_id, session_id, version, status, step)"
        " VALUES (1, 1, 1, 1, 'saved', 4)",
        "INSERT INTO triggers (id, user_id, reflection_id, kind, status, fire_count,"
        " missed_count) VALUES (1, 1, 1, 'situation', 'active', 0, 0)",
        "INSERT INTO recalls (user_id, reflection_id, trigger_id, source) VALUES (1, 1, 1, 'ping')",
        "INSERT INTO conversation_states (name, key, user_id, state, updated_at)"
        " VALUES ('reflection', '[1, 1]', 1, '{}', :at)",
    ]
    async with engine.begin() as conn:
        for sql in rows:
            await conn.execute(text(sql), {"at": explicit} if ":at" in sql else {})
    await migrate(engine)
    db = create_sessionmaker(engine)
    async with db() as s:
        counts = {
            model.__tablename__: await s.scalar(select(func.count()).select_from(model))
            for model in (User, TherapySession, Capture, Reflection, Trigger, Recall)
        }
        assert set(counts.values()) == {1, 2} and counts["therapy_sessions"] == 2, counts
        assert (await s.scalar(select(Recall.trigger_id))) == 1
        for model in (User, Reflection, Trigger, Recall):
            stamp = await s.scalar(select(model.created_at))
            assert _close_to_now(stamp), (model.__tablename__, stamp)
        assert await s.scalar(select(Capture.created_at)) == explicit
        assert await s.scalar(select(ConversationState.updated_at)) == explicit
        old = list(await s.scalars(select(TherapySession.slot).order_by(TherapySession.id)))
        assert old == ["id:1", "id:2"]
    async with db() as s, s.begin():  # the old session is still the current one
        current, created = await SessionRepository(s).current_or_new(
            1, datetime(2026, 11, 25, 9, 0), date(2026, 11, 25)
        )
        assert (current.id, created) == (2, False)
    async with engine.connect() as conn:
        if database_kind == "sqlite":
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA foreign_key_check"))).all() == []
    await engine.dispose()


# --------------------------------------------------------------------------- /delete on disk


async def _relation_files(engine: AsyncEngine) -> list[Path]:
    """Every file of the personal tables, their TOAST tables and indexes (all segments)."""
    async with engine.connect() as conn:
        data_dir = Path(await conn.scalar(text("SHOW data_directory")))
        names = [t.name for t in personal_tables()]
        rows = await conn.execute(
            text(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c"
                " WHERE c.oid IN ("
                "  SELECT oid FROM pg_class WHERE relname = ANY(:names)"
                "  UNION SELECT reltoastrelid FROM pg_class WHERE relname = ANY(:names)"
                "  UNION SELECT indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
                "   WHERE t.relname = ANY(:names)"
                "  UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class t"
                "   ON t.reltoastrelid = i.indrelid WHERE t.relname = ANY(:names))"
            ),
            {"names": names},
        )
        paths = [data_dir / r[0] for r in rows if r[0]]
    return [p for base in paths for p in base.parent.glob(base.name + "*") if p.is_file()]


async def _on_disk(engine: AsyncEngine, secret: bytes) -> list[str]:
    async with engine.connect() as conn:  # write every dirty page out, as a crash would not
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("CHECKPOINT"))
    return [p.name for p in await _relation_files(engine) if secret in p.read_bytes()]


@pytest.mark.serial  # VACUUM FULL keeps rows other databases' transactions may still see
async def test_delete_removes_the_text_from_postgresql_files(
    engine: AsyncEngine, database_kind: str
) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL only; tests/test_privacy.py checks the SQLite file")
    async with engine.connect() as conn:
        data_dir = Path(await conn.scalar(text("SHOW data_directory")))
        may_checkpoint = await conn.scalar(
            text(
                "SELECT rolsuper OR pg_has_role('pg_checkpoint', 'MEMBER') FROM pg_roles"
                " WHERE rolname = current_user"
            )
        )
    if not (os.access(data_dir, os.R_OK | os.X_OK) and may_checkpoint):
        pytest.skip("needs the server's data directory readable here and CHECKPOINT rights")
    secret = f"secret{secrets.token_hex(8)}"
    long = secrets.token_hex(4000)  # incompressible, so it is stored out of line, in TOAST
    db = create_sessionmaker(engine)
    async with db() as s, s.begin():
        for person in (1, 2):  # person 2 stays: their rows keep the pages in use
            await UserRepository(s).get_or_create(person, person, "UTC")
            session, _ = await SessionRepository(s).current_or_new(person, utcnow(), date.today())
            mine = person == 1
            s.add(
                Capture(
                    user_id=person,
                    session_id=session.id,
                    kind=CaptureKind.TEXT,
                    status=CaptureStatus.SAVED,
                    text=f"today {secret if mine else 'other'} landed",
                    chat_id=person,
                    created_at=utcnow(),
                )
            )
            s.add(
                Reflection(
                    user_id=person,
                    session_id=session.id,
                    status=ReflectionStatus.SAVED,
                    paragraph=f"{long[:3000]}{secret if mine else 'other'}{long[3000:]}",
                )
            )
    assert len(await _on_disk(engine, secret.encode())) >= 2  # the heap and TOAST hold it

    app = SimpleNamespace(
        bot_data=SimpleNamespace(sessionmaker=db, engine=engine),
        job_queue=None,
        handlers={},
        drop_user_data=lambda _user_id: None,
    )
    counts = await erase_everything(app, 1)  # type: ignore[arg-type]
    assert counts == {"users": 1, "therapy_sessions": 1, "captures": 1, "reflections": 1}
    assert await _on_disk(engine, secret.encode()) == []
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(Capture)) == 1  # person 2's
