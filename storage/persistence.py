"""PTB persistence in the database: conversation states and user_data survive a restart.

`DatabasePersistence` stores each persistent ConversationHandler's state per conversation key
and each person's `user_data` as JSON rows in `conversation_states` (the `state` column is
encrypted at rest like everything else people say). bot_data, chat_data and callback data are
not stored: bot_data is the live `Services` object, and the rest is unused.

PTB loads persistence in `Application.initialize()`, before `post_init` opens the database,
so the persistence opens it itself through the `opener` it is given (idempotent).

Rules: user_data values must be JSON values (str, int, float, bool, None, lists, dicts);
a conversation quiet for longer than its timeout (`timeouts[name]`, else `max_age`) is not
resumed after a restart (its row is dropped on load), so a half-finished chat from last week
does not swallow today's messages. The ones resumed are listed in `resumed` with the time
they last changed, so the rest of their timeout can be scheduled again
(bot/conversation_timeouts.py): PTB itself does not persist its timeout jobs.

PTB hands over every person's user_data after each of their updates, changed or not; a
value equal to the one this process knows is stored (read at startup, or written since) is
not written again, so most updates cost no write (bench/latency.py: it was one transaction
of the four a plain /recall made, with SQLite's one writer shared by every person).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, cast

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput

from storage.models import ConversationState
from storage.sessions import utcnow

if TYPE_CHECKING:
    from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

logger = logging.getLogger(__name__)

USER_DATA = ":user_data"  # the `name` of user_data rows (conversation names never start with ":")
DEFAULT_MAX_AGE = timedelta(hours=12)
_UNKNOWN = "\x00"  # a stored value after a failed write: never equal to JSON (it escapes NUL)


class Database(Protocol):
    """What the persistence needs of the application's services: the session factory."""

    sessionmaker: async_sessionmaker[AsyncSession] | None


class PersonData(TypedDict, total=False):
    """What one person's open conversations remember between updates (PTB's user_data).

    Stored as JSON by storage/persistence.py, so values are JSON values; a value read back
    after a restart is checked before use (`isinstance`), never trusted.
    """

    reflection_id: int  # the reflection draft being answered
    reflection_redo: bool  # after this answer, go straight back to the paragraph
    reflection_answers: dict[str, list[int]]  # message id -> [draft id, question], for edits
    setting: str  # the setting whose new value /settings asked for
    trg_reflection: int | None  # the paragraph a moment is being set for
    trg_edit: int  # the trigger being changed
    trg_cue: str  # typed text waiting for "keep it as a situation?"
    fix_capture: int  # the capture ✎ Fix is correcting
    delete_offer: str  # the one /delete confirmation that is valid now
    next_session_asked: float  # when "When is your next session?" was asked (time.time())


Opener = Callable[[Any], Awaitable[None]]


def _key_text(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def _key_user(key: ConversationKey) -> int | None:
    """The person of a (chat_id, user_id) key: its last integer part (private chats: the same)."""
    for part in reversed(key):
        if isinstance(part, int):
            return part
    return None


class DatabasePersistence(BasePersistence[PersonData, dict[Any, Any], Any]):
    """Conversation states and user_data in `conversation_states`, written as they change."""

    def __init__(
        self,
        services: Database,
        opener: Opener,
        update_interval: float = 1.0,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        """Creates the persistence; nothing touches the database until PTB asks.

        Args:
            services: the application's services; their sessionmaker is used (opened on demand).
            opener: opens the database into `services` (idempotent), e.g. `bot.app.open_database`.
            update_interval: seconds between PTB's writes of what changed.
            max_age: conversations quiet for longer are not resumed after a restart.
        """
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.services = services
        self.opener = opener
        self.max_age = max_age
        # filled by build_application once the conversations are registered
        self.timeouts: dict[str, timedelta] = {}
        # conversation name -> key -> when it last changed (naive UTC), for those resumed
        self.resumed: dict[str, dict[ConversationKey, datetime]] = {}
        self._lock = asyncio.Lock()  # SQLite has one writer: write one row at a time
        # user_data as stored (its JSON; None or absent: no row) by user id, once
        # get_user_data read every row; None before that. Only this process writes those
        # rows while it runs (/delete drops them through drop_user_data), or, with replicas,
        # only the replica holding the person, which read them again when it took them
        # (`person_rows`, `remember_user_data`; bot/replicas.py).
        self._stored_user_data: dict[str, str | None] | None = None
        # when this process last wrote each conversation row it still has: (name, key) ->
        # updated_at; a row with another time was written since by another replica
        self._written: dict[tuple[str, str], datetime] = {}

    async def _sessionmaker(self) -> async_sessionmaker[AsyncSession] | None:
        if self.services.sessionmaker is None:
            await self.opener(self.services)
        return self.services.sessionmaker

    async def _write(self, name: str, key: str, user_id: int | None, value: object) -> None:
        """Upserts one row, or deletes it when `value` is None; failures are logged.

        A user_data value equal to the stored one is not written again (see the module).
        """
        state = None if value is None else json.dumps(value, default=str)
        async with self._lock:
            known = self._stored_user_data if name == USER_DATA else None
            if known is not None and known.get(key) == state:
                return
            maker = self.services.sessionmaker
            if maker is None:  # already shut down: nothing to write into
                logger.warning("persistence write for %s after the database closed", name)
                return
            try:
                async with maker() as session, session.begin():
                    if state is None:
                        await session.execute(
                            delete(ConversationState).where(
                                ConversationState.name == name, ConversationState.key == key
                            )
                        )
                    else:
                        written = utcnow()
                        await session.merge(
                            ConversationState(
                                name=name,
                                key=key,
                                user_id=user_id,
                                state=state,
                                updated_at=written,
                            )
                        )
            except SQLAlchemyError as exc:
                logger.error("persistence write for %s failed: %s", name, type(exc).__name__)
                if known is not None:
                    known[key] = _UNKNOWN  # the next value is written, whatever it is
                return
            if known is not None:
                known[key] = state
            if name != USER_DATA:
                if state is None:
                    self._written.pop((name, key), None)
                else:
                    self._written[(name, key)] = written

    async def _rows(self, name: str) -> list[ConversationState]:
        maker = await self._sessionmaker()
        assert maker is not None
        async with maker() as session:
            result = await session.scalars(
                select(ConversationState).where(ConversationState.name == name)
            )
            return list(result)

    async def person_rows(self, user_id: int) -> list[ConversationState]:
        """Every stored conversation state and the user_data of one person (bot/replicas.py)."""
        maker = await self._sessionmaker()
        assert maker is not None
        async with maker() as session:
            result = await session.scalars(
                select(ConversationState).where(ConversationState.user_id == user_id)
            )
            return list(result)

    def wrote_last(self, name: str, key: ConversationKey, updated_at: datetime) -> bool:
        """True when the stored row of this conversation is the one this process wrote."""
        return self._written.get((name, _key_text(key))) == updated_at

    def remember_user_data(self, user_id: int, state: str | None) -> None:
        """Takes `state` (JSON; None: no row) as what is stored for this person's user_data."""
        if self._stored_user_data is not None:
            self._stored_user_data[str(user_id)] = state

    async def forget_conversation(self, name: str, key: ConversationKey) -> None:
        """Deletes one stored conversation state (one that timed out while nobody held it)."""
        await self._write(name, _key_text(key), _key_user(key), None)

    # ---- conversations

    async def get_conversations(self, name: str) -> ConversationDict:
        """Loads one conversation's states; drops those quiet for longer than its timeout."""
        conversations: ConversationDict = {}
        resumed: dict[ConversationKey, datetime] = {}
        stale: list[str] = []
        oldest = utcnow() - self.timeouts.get(name, self.max_age)
        for row in await self._rows(name):
            if row.updated_at < oldest or row.state is None:
                stale.append(row.key)
                continue
            try:
                key = tuple(json.loads(row.key))
                conversations[key] = json.loads(row.state)
            except (ValueError, TypeError):
                logger.warning("unreadable conversation state dropped (%s)", name)
                stale.append(row.key)
                continue
            resumed[key] = row.updated_at
        self.resumed[name] = resumed
        for key_text in stale:
            await self._write(name, key_text, None, None)
        logger.info("conversation %s: %d resumed, %d stale", name, len(conversations), len(stale))
        return conversations

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        await self._write(name, _key_text(key), _key_user(key), new_state)

    # ---- user_data

    async def get_user_data(self) -> dict[int, PersonData]:
        data: dict[int, PersonData] = {}
        rows = await self._rows(USER_DATA)
        self._stored_user_data = {row.key: row.state for row in rows}
        for row in rows:
            try:
                value = json.loads(row.state or "{}")
                # JSON as stored; each flow checks a value's type before it uses it
                data[int(row.key)] = cast(PersonData, value) if isinstance(value, dict) else {}
            except (ValueError, TypeError):
                logger.warning("unreadable user_data dropped for user %s", row.user_id)
        return data

    async def update_user_data(self, user_id: int, data: PersonData) -> None:
        await self._write(USER_DATA, str(user_id), user_id, data if data else None)

    async def refresh_user_data(self, user_id: int, user_data: PersonData) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def drop_user_data(self, user_id: int) -> None:
        await self._write(USER_DATA, str(user_id), user_id, None)

    # ---- not stored (see PersistenceInput above)

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """chat_data is not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """chat_data is not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """chat_data is not stored."""

    async def get_bot_data(self) -> Any:
        return self.services

    async def update_bot_data(self, data: Any) -> None:
        """bot_data is the live Services object; never stored."""

    async def refresh_bot_data(self, bot_data: Any) -> None:
        """bot_data is the live Services object; never stored."""

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        """Callback data is not stored."""

    async def flush(self) -> None:
        """Nothing buffered: every change was written when PTB handed it over."""
