"""Several replicas on one PostgreSQL database: each person is held by one replica at a time.

PTB keeps conversation states and user_data in memory, read from persistence only at
startup. Behind one webhook URL a person's next update may land on another replica, which
would answer from its own stale memory. So, on PostgreSQL, a replica **holds** a person while
it has work for them:

- it takes them when it accepts one of their updates, in `HoldingQueue.put`, which PTB's
  webhook server awaits before it answers Telegram 200; Telegram sends a chat's next update
  only after that answer, so the next update, wherever it lands, is accepted after this one
  was taken (cross-replica order);
- holding is a PostgreSQL advisory lock per person (`pg_try_advisory_lock`, retried while
  another replica holds them) on one AUTOCOMMIT connection of the replica's own; a replica
  that takes a person it did not hold reloads their conversation states and user_data from
  the database into the Application; for a conversation another replica wrote since, it
  re-derives the timeout from the row (one past its timeout is ended at once; PTB's timeout
  job it had is dropped, being older than the conversation's last step);
- it lets go once it has handled every update of theirs it accepted (in order: PerPersonOrder)
  and any spoken answer still being heard (a `block=False` step) is done, after writing what
  changed (`Application.update_persistence`).

Conversation timeouts run holding the person too (`HoldingJobQueue`, and
bot/conversation_timeouts.py), in the person's order on this replica.

On SQLite (one process) none of this runs: `enabled` stays False and every call returns at
once, so the single-process path costs one attribute check per update.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from telegram import Update
from telegram.ext import ConversationHandler, Job
from telegram.ext._handlers.conversationhandler import PendingState  # PTB has no public name

from bot import conversation_timeouts
from bot.context import BetweenApp, BotContext
from bot.retry import FanOutJobQueue
from storage.clock import utcnow
from storage.persistence import USER_DATA, DatabasePersistence

if TYPE_CHECKING:
    from telegram.ext._utils.trackingdict import TrackingDict
    from telegram.ext._utils.types import ConversationKey, JobCallback

    from bot.ordering import PerPersonOrder

logger = logging.getLogger(__name__)

FIRST_WAIT = 0.01  # seconds before trying a held person again; doubled up to LAST_WAIT
LAST_WAIT = 0.2


def lock_key(person: int) -> int:
    """The advisory lock key (a signed bigint) of one person, apart from other lock users."""
    digest = hashlib.blake2b(f"between person {person}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class _Held:
    users: int = 0  # updates and jobs holding or waiting for this person here
    taken: bool = False  # this replica holds the advisory lock
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # taking and letting go


class Holds:
    """The people this replica holds, and taking and letting go of them (see the module)."""

    def __init__(self) -> None:
        self.enabled = False
        self.application: BetweenApp | None = None
        self._people: dict[int, _Held] = {}
        self._engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None  # opened on first use, again if lost
        self._connection_lock = asyncio.Lock()  # one statement at a time on the connection
        self.order: PerPersonOrder | None = None  # set by PerPersonOrder: the jobs' turn
        self._waiting: set[asyncio.Task[None]] = set()  # letting go once an answer is heard
        self._accepted: set[int] = set()  # ids of updates taken in put, not yet handled

    async def start(self, application: BetweenApp) -> None:
        """Turns holding on when the database is PostgreSQL (shared by replicas)."""
        self.application = application
        engine = application.bot_data.engine
        if engine is None or engine.dialect.name != "postgresql":
            return
        self._engine = engine
        self.enabled = True

    async def stop(self) -> None:
        """Closes the lock connection, which lets go of everyone still held."""
        self.enabled = False
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                await self._connection.close()
            self._connection = None
        self._people.clear()

    # ---- taking and letting go

    async def acquire(self, person: int) -> bool:
        """Holds `person` (waits while another replica does); True when taken afresh here."""
        if not self.enabled:
            return False
        held = self._people.get(person)
        if held is None:
            held = self._people[person] = _Held()
        held.users += 1
        async with held.lock:
            if held.taken:
                return False
            try:
                await self._lock(person)
                held.taken = True
                await self._reload(person)
            except (SQLAlchemyError, OSError) as exc:  # order within this replica still holds
                logger.error("could not hold person %s: %s", person, type(exc).__name__)
            return True

    async def release(self, person: int) -> None:
        """Lets go of `person` once nothing here needs them, after writing what changed."""
        held = self._people.get(person)
        if held is None:
            return
        async with held.lock:
            held.users -= 1
            if held.users == 0 and held.taken:
                held.taken = False
                try:
                    if self.application is not None:
                        await self.application.update_persistence()
                finally:
                    await self._unlock(person)
        if held.users == 0 and self._people.get(person) is held:
            del self._people[person]

    async def release_when_heard(self, person: int) -> None:
        """Lets go after this update, or once the spoken answer it started is heard."""
        pending = self._pending_tasks(person)
        if not pending:
            await self.release(person)
            return

        async def later() -> None:
            await asyncio.gather(*pending, return_exceptions=True)
            await self.release(person)

        task = asyncio.create_task(later(), name=f"hold:{person}")
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)

    def holding(self) -> int:
        """People this replica holds or is taking right now (tests, logs)."""
        return len(self._people)

    @contextlib.asynccontextmanager
    async def turn(self, person: int) -> AsyncIterator[bool]:
        """Runs a job about `person` in their order here, holding them; yields `fresh`."""
        assert self.order is not None
        async with self.order.turn(person):
            fresh = await self.acquire(person)
            try:
                yield fresh
            finally:
                await self.release(person)

    def accepted(self, update: object) -> None:
        """Notes that `put` took this update's person for it."""
        self._accepted.add(id(update))

    def take_accepted(self, update: object) -> bool:
        """True (once) when `put` already took this update's person."""
        if id(update) in self._accepted:
            self._accepted.discard(id(update))
            return True
        return False

    # ---- PostgreSQL

    async def _lock(self, person: int) -> None:
        wait = FIRST_WAIT
        while True:
            async with self._connection_lock:
                if self._connection is None:
                    assert self._engine is not None
                    connection = await self._engine.connect()
                    self._connection = await connection.execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                try:
                    got = await self._connection.scalar(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(person)}
                    )
                except SQLAlchemyError:
                    # a lost connection took every lock it held along: start on a new one
                    with contextlib.suppress(SQLAlchemyError):
                        await self._connection.close()
                    self._connection = None
                    raise
            if got:
                return
            await asyncio.sleep(wait)  # another replica holds them: it lets go soon
            wait = min(wait * 2, LAST_WAIT)

    async def _unlock(self, person: int) -> None:
        try:
            async with self._connection_lock:
                if self._connection is not None:
                    await self._connection.scalar(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(person)}
                    )
        except SQLAlchemyError as exc:
            logger.error("could not let go of person %s: %s", person, type(exc).__name__)

    # ---- the person's state in this Application

    def _conversations(self) -> list[ConversationHandler[BotContext]]:
        assert self.application is not None
        return [
            handler
            for handler in conversation_timeouts.conversations(self.application)
            if handler.persistent and handler.name
        ]

    def _pending_tasks(self, person: int) -> list[asyncio.Task[object]]:
        tasks: list[asyncio.Task[object]] = []
        if not self.enabled or self.application is None:
            return tasks
        for handler in self._conversations():
            for key, state in list(handler._conversations.items()):  # private: no public view
                if conversation_timeouts.key_person(key) != person:
                    continue
                if isinstance(state, PendingState) and not state.done():
                    tasks.append(state.task)
        return tasks

    async def _reload(self, person: int) -> None:
        """Replaces this person's conversation states and user_data with the stored ones."""
        application = self.application
        assert application is not None
        persistence = application.persistence
        if not isinstance(persistence, DatabasePersistence):
            return
        rows = await persistence.person_rows(person)
        stored: dict[str, dict[ConversationKey, Any]] = {}
        user_data: str | None = None
        now = utcnow()
        for row in rows:
            if row.name == USER_DATA:
                user_data = row.state
                continue
            try:
                key: ConversationKey = tuple(json.loads(row.key))
                state = json.loads(row.state) if row.state is not None else None
            except (ValueError, TypeError):
                continue
            stored.setdefault(row.name, {})[key] = (state, row.updated_at)
        for handler in self._conversations():
            assert handler.name is not None
            # private: PTB has no public way to set a state; .data sets it untracked (no write)
            states = cast("TrackingDict[ConversationKey, object]", handler._conversations).data
            mine = stored.get(handler.name, {})
            for key in [k for k in states if conversation_timeouts.key_person(k) == person]:
                if key not in mine:
                    states.pop(key, None)
                    _drop_timeout_job(handler, key)
            timeout = conversation_timeouts.timeout_of(handler) or persistence.max_age
            for key, (state, changed) in mine.items():
                if persistence.wrote_last(handler.name, key, changed):
                    continue  # nobody changed it since: memory and PTB's timeout job stand
                _drop_timeout_job(handler, key)
                if state is None or changed + timeout <= now:
                    states.pop(key, None)
                    await persistence.forget_conversation(handler.name, key)
                    continue
                states[key] = state
                conversation_timeouts.schedule(application, handler, key, changed)
        # the person's live user_data (created when absent), replaced in place: JSON as
        # stored, each flow checks a value's type before it uses it (storage/persistence.py)
        data = cast("dict[str, Any]", application.user_data[person])
        data.clear()
        if user_data:
            with contextlib.suppress(ValueError, TypeError):
                loaded = json.loads(user_data)
                if isinstance(loaded, dict):
                    data.update(loaded)
        persistence.remember_user_data(person, user_data)


def _drop_timeout_job(handler: ConversationHandler[BotContext], key: ConversationKey) -> None:
    """Removes PTB's timeout job for `key`: the stored row decides the timeout now."""
    job = handler.timeout_jobs.pop(key, None)
    if job is not None:
        with contextlib.suppress(KeyError):  # APScheduler's JobLookupError: it ran already
            job.schedule_removal()


def holds_of(application: BetweenApp) -> Holds | None:
    """The application's Holds when they are on (replicas on PostgreSQL), else None."""
    holds = getattr(application.update_processor, "holds", None)
    return holds if isinstance(holds, Holds) and holds.enabled else None


class HoldingQueue(asyncio.Queue[object]):
    """The update queue: takes the update's person before the update is accepted."""

    def __init__(self, holds: Holds) -> None:
        super().__init__()
        self.holds = holds

    async def put(self, item: object) -> None:
        from bot.ordering import PerPersonOrder

        person = PerPersonOrder.key(item) if isinstance(item, Update) else None
        if person is not None and self.holds.enabled:
            await self.holds.acquire(person)
            self.holds.accepted(item)
        await super().put(item)


class HoldingJobQueue(FanOutJobQueue):
    """A JobQueue whose jobs send within the 30/s budget (`FanOutJobQueue`); a conversation's
    timeout job runs holding its person."""

    def run_once(
        self,
        callback: JobCallback[BotContext],
        when: Any,
        data: object | None = None,
        name: str | None = None,
        chat_id: int | None = None,
        user_id: int | None = None,
        job_kwargs: dict[str, Any] | None = None,
    ) -> Job[BotContext]:
        key = getattr(data, "conversation_key", None)
        if getattr(callback, "__func__", None) is ConversationHandler._trigger_timeout and key:
            callback = _holding(callback, conversation_timeouts.key_person(key))
        return super().run_once(callback, when, data, name, chat_id, user_id, job_kwargs)


def _holding(callback: JobCallback[BotContext], person: int | None) -> JobCallback[BotContext]:
    async def run(context: BotContext) -> None:
        holds = holds_of(context.application)
        if holds is None or person is None:
            await callback(context)
            return
        # taken afresh after another replica moved the conversation on: the reload dropped
        # this job from PTB's timeout_jobs (so PTB's own check makes it a no-op) and ended the
        # conversation if it was due; otherwise this job is still the conversation's timeout
        async with holds.turn(person):
            await callback(context)

    run.__name__ = getattr(callback, "__name__", "timeout")
    return run
