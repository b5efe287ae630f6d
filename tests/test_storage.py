"""Storage on a real SQLite file: migrations match the models, rows stay with their owner."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.errors import EncryptionKeyError
from storage.db import create_engine, create_sessionmaker, migrate
from storage.encrypted import TextCipher
from storage.models import Base, Capture, CaptureKind, CaptureStatus
from storage.sessions import SessionRepository
from storage.users import UserRepository


def _url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


async def test_migrations_create_exactly_the_models(tmp_path: Path) -> None:
    engine = create_engine(_url(tmp_path))
    await migrate(engine)
    await migrate(engine)  # idempotent

    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
        pragma = await connection.execute(text("PRAGMA secure_delete"))
        assert pragma.scalar() == 1
    await engine.dispose()


async def test_sessions_are_scoped_to_their_owner(tmp_path: Path) -> None:
    engine = create_engine(_url(tmp_path))
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


async def test_a_therapy_hour_after_the_latest_session_opens_a_new_one(tmp_path: Path) -> None:
    engine = create_engine(_url(tmp_path))
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


async def test_encrypted_text_never_reaches_the_file(tmp_path: Path) -> None:
    phrase = "I do not have to earn rest"
    key = Fernet.generate_key()
    engine = create_engine(_url(tmp_path), TextCipher([key]))
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
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    assert phrase.encode() not in raw

    wrong = create_engine(_url(tmp_path), TextCipher([Fernet.generate_key()]))
    async with create_sessionmaker(wrong)() as s:
        with pytest.raises(EncryptionKeyError):
            await s.get(Capture, 1)
    await wrong.dispose()
