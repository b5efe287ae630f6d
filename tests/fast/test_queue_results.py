"""TRANSCRIBE_BACKEND=queue without a queue: its settings, and the idempotent result write.

The queue itself runs in tests/test_queue.py (PostgreSQL, real worker processes); here the
results table is checked on the fast tier's SQLite file: first write wins, a take deletes,
unclaimed rows are swept, and /delete and /export see the person's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import __main__ as entry
from bot.config import Settings
from bot.errors import ConfigError
from bot.workqueue import JobRequest
from storage.clock import utcnow
from storage.db import create_engine, create_sessionmaker
from storage.encrypted import TextCipher
from storage.models import CaptureKind
from storage.personal import PersonalDataRepository
from storage.transcripts import TranscriptResultRepository
from storage.users import UserRepository
from tests.support.databases import read_rows

KEY = "Ee8pV2FpZ3cE3K1hLkq1pxy9W0sJ8wR2eOoWkqJH6dQ="


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url, TextCipher([KEY.encode()]))
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def test_queue_needs_postgresql_in_one_line(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError) as raised:
        make_settings(transcribe_backend="queue")
    assert "TRANSCRIBE_BACKEND=queue needs a PostgreSQL DATABASE_URL" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_queue_settings_are_checked(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match="TRANSCRIBE_BACKEND is malformed"):
        make_settings(transcribe_backend="celery")
    with pytest.raises(ConfigError, match="QUEUE_STALLED_SECONDS must be longer"):
        make_settings(queue_heartbeat_seconds=30, queue_stalled_seconds=10)
    settings = make_settings(
        transcribe_backend="queue",
        database_url="postgresql+asyncpg://between:pw@db.example:5433/between",
    )
    assert settings.queue_conninfo == "postgresql://between:pw@db.example:5433/between"


def test_worker_on_sqlite_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert entry.main(["worker"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("Between: TRANSCRIBE_BACKEND=queue needs a PostgreSQL DATABASE_URL")


def test_a_capture_jobs_key_names_its_attempt() -> None:
    from bot.voice import Memo

    memo = Memo(CaptureKind.VOICE, "file-1", "u1", 10, 3)
    first = JobRequest.make(7, memo, language=None, keep_as=None, capture=(42, 1))
    again = JobRequest.make(7, memo, language=None, keep_as=None, capture=(42, 2))
    assert (first.key, again.key) == ("capture:42:1", "capture:42:2")
    spoken = JobRequest.make(7, memo, language="de", keep_as=None, capture=None)
    assert spoken.key.startswith("user:7:") and spoken.capture_id is None
    assert spoken.memo.file_id == "file-1" and spoken.memo.kind == CaptureKind.VOICE


async def test_the_first_result_wins_a_take_deletes_it_and_stale_ones_are_swept(
    db: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(7, 7, "UTC")
    async with db() as s, s.begin():
        repo = TranscriptResultRepository(s)
        assert await repo.write_first("capture:1:1", 7, text="first", failure=None, seconds=2.0)
    async with db() as s, s.begin():  # the same job run again (its worker was killed)
        repo = TranscriptResultRepository(s)
        assert not await repo.write_first("capture:1:1", 7, text="again", failure=None, seconds=2)
        assert await repo.write_first("user:7:x", 7, text=None, failure="no_speech", seconds=1)
    [(stored,)] = read_rows(
        database_url, "SELECT text FROM transcript_results WHERE key='user:7:x'"
    )
    assert stored is None
    [(cipher,)] = read_rows(database_url, "SELECT text FROM transcript_results WHERE key LIKE 'c%'")
    assert "first" not in cipher  # encrypted at rest like every text people say

    async with db() as s, s.begin():
        [taken] = await TranscriptResultRepository(s).take(["capture:1:1", "capture:9:1"])
    assert (taken.text, taken.seconds) == ("first", 2.0)
    async with db() as s, s.begin():
        repo = TranscriptResultRepository(s)
        assert not await repo.exists("capture:1:1") and await repo.exists("user:7:x")
        assert await repo.sweep(utcnow() - timedelta(hours=1)) == 0
        assert await repo.sweep(utcnow() + timedelta(seconds=1)) == 1
        assert await repo.take(["user:7:x"]) == []


async def test_results_are_the_persons_rows_for_export_and_delete(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as s, s.begin():
        await UserRepository(s).get_or_create(7, 7, "UTC")
        await TranscriptResultRepository(s).write_first(
            "capture:1:1", 7, text="words", failure=None, seconds=1.0
        )
    async with db() as s:
        data = await PersonalDataRepository(s).collect(7)
    assert [r["text"] for r in data.rows("transcript_results")] == ["words"]
    async with db() as s, s.begin():
        counts = await PersonalDataRepository(s).erase(7)
    assert counts["transcript_results"] == 1
