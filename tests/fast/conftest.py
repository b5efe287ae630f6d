"""The fast tier: no Whisper model, no HTTP server, a real SQLite file per test.

Every test here is marked `fast` (pytest -m fast). Two stand-ins only: the in-process Bot API
(tests/support/in_process.py, the same in-memory chat model as the HTTP test server) and
`FixedTranscriber` (a fixed text per fixture clip). Everything else is the real bot.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from tests.support import databases
from tests.support.fast import FastBot, migrated_template, running_app
from tests.support.in_process import ROOT
from tests.support.telegram_server import TOKEN, TelegramTestServer
from tests.support.transcriber import FixedTranscriber


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.fast)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per run; each test gets a copy (migrating takes ~1 s)."""
    path = tmp_path_factory.mktemp("template") / "between.db"
    asyncio.run(migrated_template(path))
    return path


@pytest.fixture(autouse=True)
def database_url(tmp_path: Path, template_db: Path) -> Iterator[str]:
    """Always an SQLite file in tmp_path (the end-to-end tier covers PostgreSQL)."""
    shutil.copyfile(template_db, tmp_path / "between.db")
    url = databases.sqlite_url(tmp_path / "between.db")
    with databases.registered(tmp_path, url):
        yield url


@pytest.fixture
def api() -> TelegramTestServer:
    """The in-memory Bot API model; never started as an HTTP server here."""
    return TelegramTestServer(token=TOKEN)


@pytest.fixture
def transcriber() -> FixedTranscriber:
    return FixedTranscriber()


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "telegram_bot_token": TOKEN,
            "telegram_api_base_url": ROOT,
            "database_url": database_url,
            "_env_file": None,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def start_bot(
    make_settings: Callable[..., Settings], transcriber: FixedTranscriber, api: TelegramTestServer
) -> Callable[..., AbstractAsyncContextManager[FastBot]]:
    """`async with start_bot(**settings) as bot:` for a bot with other settings."""

    @asynccontextmanager
    async def start(**overrides: object) -> AsyncIterator[FastBot]:
        async with running_app(make_settings(**overrides), transcriber, api) as app:
            yield FastBot(app, api)

    return start


@pytest.fixture
async def bot(start_bot) -> AsyncIterator[FastBot]:  # type: ignore[no-untyped-def]
    async with start_bot() as fast:
        yield fast
