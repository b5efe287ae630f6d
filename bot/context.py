"""The typed context every handler and job receives: `context.db`, `.transcriber`, `.settings`.

Services live in one `Services` object used as PTB's `bot_data`, created by `build_application`
and filled in `post_init` (database, Whisper model), so nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings

if TYPE_CHECKING:
    from bot.transcription import Transcriber
    from storage.models import User

StartupHook = Callable[["BetweenApp"], Awaitable[None]]
# (application, person, at_startup): at startup a scheduler may also catch up on what fell
# due while the bot was down; after a settings change it must not
UserScheduler = Callable[["BetweenApp", "User", bool], Awaitable[None]]


@dataclass
class Services:
    """Shared clients for the whole application (one per process)."""

    settings: Settings
    engine: AsyncEngine | None = None
    sessionmaker: async_sessionmaker[AsyncSession] | None = None
    transcriber: Transcriber | None = None
    # filled by each flow's register(): work to do once the database is open, and the
    # functions that (re)derive one person's jobs from their rows
    startup_hooks: list[StartupHook] = field(default_factory=list)
    user_schedulers: list[UserScheduler] = field(default_factory=list)
    # capture ids being transcribed right now, so /retry and the startup retry never work on
    # the same memo twice at once (a restart starts empty)
    transcribing: set[int] = field(default_factory=set)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """CallbackContext with typed access to the services the handlers need."""

    @property
    def services(self) -> Services:
        return self.bot_data

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def db(self) -> async_sessionmaker[AsyncSession]:
        """The async session factory: `async with context.db() as s, s.begin(): ...`."""
        if self.bot_data.sessionmaker is None:
            raise RuntimeError("database is not open yet (post_init has not run)")
        return self.bot_data.sessionmaker

    @property
    def transcriber(self) -> Transcriber:
        if self.bot_data.transcriber is None:
            raise RuntimeError("transcriber is not loaded yet (post_init has not run)")
        return self.bot_data.transcriber


BetweenApp = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], Services, Any]
