"""Encryption at rest on the test's real database: the key canary, wrong and missing keys,
rotate-key. What is "on disk" is the SQLite file and its WAL, or PostgreSQL's pg_dump."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.app import open_database
from bot.config import load_settings
from bot.context import Services
from bot.errors import EncryptionKeyError
from bot.keys import CANARY_KEY, MISSING_KEY, WRONG_KEY, rotate_all
from storage.db import create_engine
from storage.encrypted import TextCipher
from storage.models import Capture, CaptureKind, CaptureStatus, Meta, TherapySession, User
from tests.support.databases import stored_bytes

ROOT = Path(__file__).resolve().parent.parent
PHRASE = "my quiet tangerine confession"
OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


async def _open(db: str, key: str | None) -> Services:
    settings = load_settings(_env_file=None, database_url=db, encryption_key=key or "")
    services = Services(settings=settings)
    await open_database(services)
    return services


async def _close(services: Services) -> None:
    assert services.engine is not None
    await services.engine.dispose()


async def _add_capture(services: Services, text: str, user_id: int = 7) -> None:
    assert services.sessionmaker is not None
    async with services.sessionmaker() as s, s.begin():
        if await s.get(User, user_id) is None:
            s.add(User(id=user_id, chat_id=user_id, timezone="UTC"))
            await s.flush()
        session = TherapySession(
            user_id=user_id, started_at=datetime(2025, 1, 1), local_date=date(2025, 1, 1)
        )
        s.add(session)
        await s.flush()
        s.add(
            Capture(
                user_id=user_id,
                session_id=session.id,
                kind=CaptureKind.TEXT,
                status=CaptureStatus.SAVED,
                chat_id=user_id,
                text=text,
            )
        )


async def _texts(services: Services) -> list[str | None]:
    assert services.sessionmaker is not None
    async with services.sessionmaker() as s:
        return list(await s.scalars(select(Capture.text).order_by(Capture.id)))


async def test_first_start_with_a_key_writes_an_encrypted_canary(database_url: str) -> None:
    db = database_url
    services = await _open(db, OLD)
    await _add_capture(services, PHRASE)
    assert services.sessionmaker is not None
    async with services.sessionmaker() as s:
        canary = await s.scalar(select(Meta.value).where(Meta.key == CANARY_KEY))
    assert canary is not None and canary.startswith("fernet:")
    assert await _texts(services) == [PHRASE]
    await _close(services)
    assert PHRASE.encode() not in stored_bytes(db)
    # a second start with the same key opens it, and the old key list order does not matter
    services = await _open(db, f"{NEW},{OLD}")
    assert await _texts(services) == [PHRASE]
    await _close(services)


@pytest.mark.parametrize("key", [OTHER, None], ids=["wrong-key", "no-key"])
async def test_wrong_or_missing_key_stops_and_changes_nothing(database_url: str, key) -> None:
    db = database_url
    services = await _open(db, OLD)
    await _add_capture(services, PHRASE)
    await _close(services)
    before = stored_bytes(db)
    with pytest.raises(EncryptionKeyError) as caught:
        await _open(db, key)
    assert str(caught.value) == (WRONG_KEY if key else MISSING_KEY)
    assert "ENCRYPTION_KEY" in str(caught.value) and "\n" not in str(caught.value)
    assert stored_bytes(db) == before


async def test_encrypted_rows_without_a_canary_are_checked_too(database_url: str) -> None:
    """A database written before the canary existed: a sample of the data is tried instead."""
    db = database_url
    services = await _open(db, OLD)
    await _add_capture(services, PHRASE)
    assert services.sessionmaker is not None
    async with services.sessionmaker() as s, s.begin():
        await s.delete(await s.get(Meta, CANARY_KEY))
    await _close(services)
    with pytest.raises(EncryptionKeyError, match="does not decrypt"):
        await _open(db, OTHER)
    with pytest.raises(EncryptionKeyError, match="is not set"):
        await _open(db, None)
    services = await _open(db, OLD)  # the right key passes and the canary is written now
    assert await _texts(services) == [PHRASE]
    await _close(services)


async def test_rotate_moves_everything_to_the_first_key_and_encrypts_plain_rows(
    database_url: str,
) -> None:
    db = database_url
    services = await _open(db, None)  # started without a key: stored as typed
    await _add_capture(services, "plain " + PHRASE)
    await _close(services)
    assert b"plain " + PHRASE.encode() in stored_bytes(db)

    services = await _open(db, OLD)  # key added later: new rows are encrypted
    await _add_capture(services, "secret " + PHRASE)
    await _close(services)

    engine = create_engine(db)
    report = await rotate_all(engine, TextCipher([NEW.encode(), OLD.encode()]))
    await engine.dispose()
    assert report.rotated == {"captures.text": 1}
    assert report.encrypted == {"captures.text": 1}
    assert PHRASE.encode() not in stored_bytes(db)

    services = await _open(db, NEW)  # the old key is no longer needed
    assert await _texts(services) == ["plain " + PHRASE, "secret " + PHRASE]
    await _close(services)
    with pytest.raises(EncryptionKeyError):
        await _open(db, OLD)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in env and not k.startswith("TELEGRAM")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_wrong_key_exits_2_and_rotate_key_reports_counts(
    database_url: str, tmp_path: Path
) -> None:
    db = database_url
    services = await _open(db, OLD)
    await _add_capture(services, PHRASE)
    await _add_capture(services, "second " + PHRASE, user_id=8)
    await _close(services)
    before = stored_bytes(db)
    env = {
        "DATABASE_URL": db,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",  # never reached: the key check is first
    }

    wrong = _run([], {**env, "ENCRYPTION_KEY": OTHER}, tmp_path)
    assert wrong.returncode == 2, wrong.stderr
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1 and "ENCRYPTION_KEY" in lines[0], wrong.stderr
    assert stored_bytes(db) == before

    missing = _run(["rotate-key"], env, tmp_path)
    assert missing.returncode == 2 and "ENCRYPTION_KEY" in missing.stderr

    rotated = _run(["rotate-key"], {**env, "ENCRYPTION_KEY": f"{NEW},{OLD}"}, tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "captures.text: 2 re-encrypted, 0 newly encrypted" in rotated.stdout
    assert "Done: 2 values" in rotated.stdout

    services = await _open(db, NEW)
    assert sorted(t or "" for t in await _texts(services)) == [PHRASE, "second " + PHRASE]
    await _close(services)
