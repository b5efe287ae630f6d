"""Updates of different people at once, one person's strictly in the order they came.

PTB handles updates one at a time by default, so a `/recall` waited behind four voice memos'
handlers (bench/latency.py measured 1.4 s of such waiting). `PerPersonOrder` lets PTB run up
to `max_concurrent_updates` updates at once and serializes those of the same person with a
FIFO `asyncio.Lock` per person: PTB starts the updates' tasks in arrival order, and a lock's
waiters are woken in the order they queued, so a person's messages are handled (and their
conversation states advance) exactly in the order they were sent. Updates without a person
(none reach the flows: the access guard stops them) run unserialized. Every update runs inside
`bot.retry.answering()`: its answers skip the 30 msg/s budget kept for scheduled fan-out.

With replicas on PostgreSQL (bot/replicas.py) an update also runs while this replica holds
its person (taken when the update was accepted), so one person's updates are handled by one
replica at a time, in the order Telegram sent them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.retry import answering

if TYPE_CHECKING:
    from bot.replicas import Holds

MAX_CONCURRENT_UPDATES = 64


class PerPersonOrder(BaseUpdateProcessor):
    """Concurrent across people, in order within one person (keyed by user, else chat)."""

    def __init__(
        self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES, holds: Holds | None = None
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # how many updates hold or wait for each lock
        self.holds = holds  # replicas: the person is held across replicas too (bot/replicas.py)
        if holds is not None:
            holds.order = self

    @staticmethod
    def key(update: object) -> int | None:
        """Whose update this is: the sender, else the chat; None for neither."""
        if not isinstance(update, Update):
            return None
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        with answering():
            await self._in_order(update, coroutine)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self.key(update)
        if key is None:
            await coroutine
            return
        holds = self.holds if self.holds is not None and self.holds.enabled else None
        if holds is not None and not holds.take_accepted(update):
            await holds.acquire(key)  # not through the queue (process_update called directly)
        try:
            async with self.turn(key):
                await coroutine
        finally:
            if holds is not None:
                await holds.release_when_heard(key)

    @contextlib.asynccontextmanager
    async def turn(self, key: int) -> AsyncIterator[None]:
        """This person's turn: after everything of theirs that came before, alone."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody else queued for this person: forget the lock
                del self._users[key]
                del self._locks[key]

    def waiting(self) -> int:
        """People with an update in hand or queued (tests, logs)."""
        return len(self._locks)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: PTB waits for the running updates itself."""
