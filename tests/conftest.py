"""Shared fixtures: a real database per test, a local Bot API server, the real bot on it.

The database is an SQLite file in tmp_path, or a fresh PostgreSQL database per test when
BETWEEN_TEST_DATABASE_URL is an admin URL of a server (`make test` runs the suite both ways;
tests/support/with_postgres.sh starts a throwaway server). `database_url` alone chooses.

The Whisper model is loaded once per test session and shared by every bot started here.

tests/openai (the openai-whisper engine, which needs torch) runs only when named:
`make test-openai` runs `pytest tests/openai` in a venv of its own; `pytest` leaves it out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from telegram import Update

from bot.app import build_application
from bot.config import Settings, load_settings
from bot.context import BetweenApp, Services
from tests.support import databases
from tests.support.telegram_server import TOKEN, TelegramTestServer

FIXTURES = Path(__file__).parent / "fixtures"
OPENAI_TESTS = Path(__file__).parent / "openai"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leaves tests/openai out of a run that does not name it (the default venv has no torch);
    pytest never ignores a path given on its command line, so `pytest tests/openai` runs it."""
    return True if collection_path == OPENAI_TESTS else None


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read a developer's .env or environment settings."""
    monkeypatch.chdir(tmp_path)
    for name in list(Settings.model_fields):  # DATABASE_URL among them
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(autouse=True)
def database_url(tmp_path: Path) -> Iterator[str]:
    """The one choice of this test's database, as an async SQLAlchemy URL.

    Without BETWEEN_TEST_DATABASE_URL: the SQLite file tmp_path / "between.db". With it (an
    admin URL such as postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres): a database
    created for this test alone and dropped WITH (FORCE) after it. Autouse, so that helpers
    given only tmp_path (tests.support.databases.url_of) find the same database.
    """
    admin = os.environ.get(databases.ADMIN_URL_ENV)
    if not admin:
        url = databases.sqlite_url(tmp_path / "between.db")
        with databases.registered(tmp_path, url):
            yield url
        return
    assert databases.kind_of(admin) == "postgresql", f"{databases.ADMIN_URL_ENV}={admin}"
    with databases.postgres_database(admin) as url, databases.registered(tmp_path, url):
        yield url


@pytest.fixture
def database_kind(database_url: str) -> str:
    """The backend of `database_url`: "sqlite" or "postgresql"."""
    return databases.kind_of(database_url)


@pytest.fixture(scope="session")
def transcriber():
    """The real bundled tiny.en model, loaded once for the whole run."""
    from bot.transcription import build_transcriber

    engine = build_transcriber(load_settings(_env_file=None))
    yield engine
    engine.close()


@pytest.fixture
async def server() -> AsyncIterator[TelegramTestServer]:
    async with TelegramTestServer(token=TOKEN) as srv:
        yield srv


@pytest.fixture
def make_settings(database_url: str, server: TelegramTestServer) -> Callable[..., Settings]:
    """Settings pointing at the test server and this test's fresh database."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "telegram_bot_token": TOKEN,
            "telegram_api_base_url": server.root,
            "database_url": database_url,
            "log_level": "DEBUG",
            "_env_file": None,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@asynccontextmanager
async def running_bot(settings: Settings, transcriber: object) -> AsyncIterator[BetweenApp]:
    """Starts the real Application with real polling, as run_polling does, then stops it."""
    services = Services(settings=settings, transcriber=transcriber)  # type: ignore[arg-type]
    app = build_application(settings, services)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
    )
    await app.start()
    try:
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()  # lets background work (a memo being heard) finish first
        services.transcriber = None  # shared across tests: post_shutdown must not close it
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


@pytest.fixture
def start_bot(make_settings: Callable[..., Settings], transcriber: object):
    """`async with start_bot(**settings) as app:` runs the bot against the test server."""

    def start(**overrides: object):
        return running_bot(make_settings(**overrides), transcriber)

    return start


@pytest.fixture
def log_records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog
