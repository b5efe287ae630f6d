"""The fast tier's bot: the real Application on an in-process Bot API, fed updates directly.

PTB's own style (tests/ext in python-telegram-bot): build the real Application with
`bot.app.build_application`, give its bot an in-process request (tests/support/in_process.py)
and feed `Update.de_json(payload, bot)` into `application.process_update`. People are the
same `Person` objects the end-to-end tier uses, on the same in-memory chat model; here their
updates are processed at once instead of being long-polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

from sqlalchemy import event
from telegram import Update
from telegram.ext import ApplicationBuilder
from telegram.request import BaseRequest

from bot.app import build_application, open_database
from bot.config import Settings, load_settings
from bot.context import BetweenApp, Services
from bot.transcription import Transcriber
from storage.db import create_engine, create_sessionmaker
from tests.support import databases
from tests.support.in_process import InProcessRequest
from tests.support.person import Person, Sent
from tests.support.telegram_server import BotMessage, TelegramTestServer


def _no_fsync(dbapi_connection: Any, _record: object) -> None:
    """A test's SQLite file need not survive a power cut: commits skip fsync (after the bot's
    own pragmas, which stay as they are)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def build_with_request(settings: Settings, services: Services, request: BaseRequest) -> BetweenApp:
    """`build_application` as it is, with PTB's public `ApplicationBuilder.request()` and
    `.get_updates_request()` given `request` just before it builds (the one seam: the
    builder would make two HTTPXRequests, and their SSL contexts take most of a start)."""
    build = ApplicationBuilder.build

    def build_on(builder: ApplicationBuilder) -> object:  # type: ignore[type-arg]
        return build(builder.request(request).get_updates_request(request))

    with patch.object(ApplicationBuilder, "build", build_on):
        return build_application(settings, services)


async def migrated_template(path: Path) -> None:
    """Writes an SQLite database at `path` the way the bot's startup leaves it (migrated)."""
    services = Services(
        settings=load_settings(
            telegram_bot_token="1:x", database_url=databases.sqlite_url(path), _env_file=None
        )
    )
    await open_database(services)
    assert services.engine is not None
    await services.engine.dispose()


@asynccontextmanager
async def running_app(
    settings: Settings, transcriber: Transcriber, api: TelegramTestServer
) -> AsyncIterator[BetweenApp]:
    """The real Application, initialised, post_init run and started, with no updater.

    The database at `settings.database_url` must already be migrated (a copy of
    `migrated_template`): the engine is opened here, so post_init does not run Alembic again.
    """
    engine = create_engine(settings.database_url)
    event.listen(engine.sync_engine, "connect", _no_fsync)
    services = Services(
        settings=settings,
        transcriber=transcriber,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
    )
    app = build_with_request(settings, services, InProcessRequest(api))
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        try:
            yield app
        finally:
            await app.stop()
    finally:
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


@dataclass
class FastBot:
    """Feeds a person's updates to the app and returns what the bot sent back."""

    app: BetweenApp
    api: TelegramTestServer

    def person(self, user_id: int = 101, first_name: str = "Alice") -> Person:
        return self.api.person(user_id=user_id, first_name=first_name)

    async def feed(self, sent: Sent) -> None:
        """Processes one update as the updater would, and the tasks its handlers started."""
        await self.app.process_update(Update.de_json(sent.update, self.app.bot))
        await self.settle()

    async def settle(self) -> None:
        """Waits for the work handlers left running (block=False handlers, transcriptions)."""
        tasks = self.app._Application__create_task_tasks  # type: ignore[attr-defined]
        while pending := [t for t in tasks if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def __call__(self, sent: Sent) -> list[BotMessage]:
        """Feeds `sent`, returns the bot messages its person had not read yet (marks them read)."""
        await self.feed(sent)
        user_id = (sent.message or {}).get("from", {}).get("id")
        if user_id is None:
            user_id = next(v["from"]["id"] for k, v in sent.update.items() if k != "update_id")
        return self.api.persons[user_id].take_all()

    async def texts(self, sent: Sent) -> list[str]:
        """Like calling the bot, as texts."""
        return [m.text or "" for m in await self(sent)]
