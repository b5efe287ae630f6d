"""Storage on the test's real database: migrations match the models, rows stay with their owner."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.errors import EncryptionKeyError
from storage.db import create_engine, create_sessionmaker, migrate, ours
from storage.encrypted import TextCipher
from storage.models import Base, Capture, CaptureKind, CaptureStatus
from storage.sessions import SessionRepository
from storage.users import UserRepository
from tests.support.databases import stored_bytes

# pg_constraint.confdeltype for each ForeignKey(ondelete=...) of the models
ON_DELETE = {"CASCADE": "c", "SET NULL": "n", "SET DEFAULT": "d", "RESTRICT": "r", None: "a"}


async def test_migrations_create_exactly_the_models(database_url: str, database_kind: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    await migrate(engine)  # idempotent

    def diff(connection):
        context = MigrationContext.configure(connection, opts={"include_name": ours})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
        if database_kind == "sqlite":
            pragma = await connection.execute(text("PRAGMA secure_delete"))
            assert pragma.scalar() == 1
        else:
            # PostgreSQL has no secure_delete and no foreign_keys pragma: foreign keys are
            # always enforced there, so check they are real and delete as the models say
            declared = {
                (fk.parent.table.name, fk.parent.name, ON_DELETE[fk.ondelete])
                for table in Base.metadata.tables.values()
                for fk in table.foreign_keys
            }
            rows = await connection.execute(
                text(
                    "SELECT c.conrelid::regclass::text, a.attname, c.confdeltype::text"
                    " FROM pg_constraint c JOIN pg_attribute a"
                    " ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
                    " WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
                )
            )
            assert {tuple(row) for row in rows if ours(row[0], "table")} == declared
    await engine.dispose()


async def test_sessions_are_scoped_to_their_owner(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    db = create_sessionmaker(engine)
    now = datetime(2026, 11, 24, 18, 0)
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(1, 1, "UTC")
        await UserRepository(s).get_or_create(2, 2, "UTC")
        mine, created = await SessionRepository(s).current_or_new(1, now, date(2026, 11, 24))
        assert created
    async with db() as s:
        assert await SessionRepository(s).get(2, mine.id) is None
        assert (await SessionRepository(s).get(1, mine.id)) is not None
        assert await SessionRepository(s).latest(2) is None
    async with db() as s, s.begin():
        again, created = await SessionRepository(s).current_or_new(
            1, now + timedelta(hours=23), date(2026, 11, 25)
        )
        assert (again.id, created) == (mine.id, False)
        later, created = await SessionRepository(s).current_or_new(
            1, now + timedelta(hours=25), date(2026, 11, 25)
        )
        assert created and later.id != mine.id
    await engine.dispose()


async def test_a_therapy_hour_after_the_latest_session_opens_a_new_one(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    db = create_sessionmaker(engine)
    monday_evening = datetime(2026, 11, 23, 19, 0)
    tuesday_therapy = datetime(2026, 11, 24, 16, 0)
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(1, 1, "UTC")
        note, _ = await SessionRepository(s).current_or_new(1, monday_evening, date(2026, 11, 23))
        # within 24 h, but Tuesday's therapy hour began after Monday's note: a new session
        during, created = await SessionRepository(s).current_or_new(
            1, tuesday_therapy + timedelta(minutes=20), date(2026, 11, 24), tuesday_therapy
        )
        assert created and during.id != note.id and during.local_date == date(2026, 11, 24)
        # later that evening the same therapy hour keeps the same session
        after, created = await SessionRepository(s).current_or_new(
            1, tuesday_therapy + timedelta(hours=3), date(2026, 11, 24), tuesday_therapy
        )
        assert (after.id, created) == (during.id, False)
    await engine.dispose()


async def test_encrypted_text_never_reaches_the_file(database_url: str) -> None:
    phrase = "I do not have to earn rest"
    key = Fernet.generate_key()
    engine = create_engine(database_url, TextCipher([key]))
    await migrate(engine)
    db = create_sessionmaker(engine)
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(7, 7, "UTC")
        session, _ = await SessionRepository(s).current_or_new(
            7, datetime(2026, 1, 1), date(2026, 1, 1)
        )
        s.add(
            Capture(
                user_id=7,
                session_id=session.id,
                kind=CaptureKind.TEXT,
                status=CaptureStatus.SAVED,
                text=phrase,
                chat_id=7,
            )
        )
    async with db() as s:
        stored = await s.get(Capture, 1)
        assert stored is not None and stored.text == phrase
    await engine.dispose()
    raw = stored_bytes(database_url)  # SQLite: the file and its WAL; PostgreSQL: pg_dump
    assert phrase.encode() not in raw

    wrong = create_engine(database_url, TextCipher([Fernet.generate_key()]))
    async with create_sessionmaker(wrong)() as s:
        with pytest.raises(EncryptionKeyError):
            await s.get(Capture, 1)
    await wrong.dispose()
