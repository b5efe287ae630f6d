"""Shared fixtures: a real SQLite file per test, a local Bot API server, the real bot on it.

The Whisper model is loaded once per test session and shared by every bot started here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from telegram import Update

from bot.app import build_application
from bot.config import Settings, load_settings
from bot.context import BetweenApp, Services
from tests.telegram_server import TelegramTestServer

TOKEN = "123456:TEST-token_between"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read a developer's .env or environment settings."""
    monkeypatch.chdir(tmp_path)
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)


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
def make_settings(tmp_path: Path, server: TelegramTestServer) -> Callable[..., Settings]:
    """Settings pointing at the test server and a fresh SQLite file in tmp_path."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "telegram_bot_token": TOKEN,
            "telegram_api_base_url": server.root,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'between.db'}",
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
        services.transcriber = None  # shared across tests: post_shutdown must not close it
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
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
