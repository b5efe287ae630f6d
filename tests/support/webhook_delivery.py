"""How the test server hands updates to a webhook: POSTs, as Telegram does, through a proxy.

Telegram delivers each update by POSTing its JSON to the URL given to setWebhook, with the
`X-Telegram-Bot-Api-Secret-Token` header when a secret was set; a non-2xx answer (or no
answer) is retried, and one chat's updates go one at a time, in order: the next is sent only
once the last was accepted. Telegram only accepts https URLs, so a test says where the public
URL really leads (`route`): one or more local http addresses behind it, taken in turn (round
robin), as a TLS-terminating load balancer in front of several replicas would. Updates for a
webhook no test routed wait undelivered.

What happened is kept in `attempts` (every POST: the update, the backend, the status).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]

HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY = 0.05  # seconds before the first retry; doubled per failure up to LAST_RETRY
LAST_RETRY = 1.0


@dataclass
class Attempt:
    """One POST of one update: where it went and what came back (0: no answer)."""

    update_id: int
    chat_id: int | None
    backend: str
    status: int


@dataclass
class Route:
    """A public URL and the local http addresses behind it, taken in turn."""

    backends: list[str]
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def next_backend(self) -> str:
        return self.backends[next(self.turn) % len(self.backends)]


def chat_of(update: JSONDict) -> int | None:
    """The chat an update belongs to (Telegram orders updates per chat), else its sender."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        sender = payload.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return int(sender["id"])
    return None


class WebhookDelivery:
    """POSTs queued updates to the webhook, one in flight per chat, retrying until accepted.

    Args:
        pending: the server's queue of updates of allowed types, oldest first (called each time).
        accepted: called with an update once a backend answered 2xx (the server drops it).
        wait_for: the server's wait on any change, as (predicate, timeout) -> bool.
        notify: wakes whatever waits on the server (a chat may send its next update).
    """

    def __init__(
        self,
        pending: Callable[[], list[JSONDict]],
        accepted: Callable[[JSONDict], None],
        wait_for: Callable[[Callable[[], bool], float], Any],
        notify: Callable[[], None],
    ) -> None:
        self.pending = pending
        self.accepted = accepted
        self.wait_for = wait_for
        self.notify = notify
        self.routes: dict[str, Route] = {}
        self.attempts: list[Attempt] = []
        self.url = ""
        self.secret: str | None = None
        self.forged_secret: str | None = None  # sent instead of the real one, when set
        self._in_flight: set[int | None] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False

    def route(self, public_url: str, *backends: str) -> None:
        """Sends what is delivered to `public_url` to these local addresses, in turn."""
        if not backends:
            raise ValueError("a route needs at least one backend")
        self.routes[public_url] = Route(list(backends))
        self.notify()

    def set(self, url: str, secret: str | None) -> None:
        """The webhook setWebhook asked for (empty url: none); delivery starts at once."""
        self.url, self.secret = url, secret
        if url and self._loop_task is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            self._loop_task = asyncio.create_task(self._run(), name="webhook delivery")

    async def stop(self) -> None:
        self._stopping = True
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    def _ready(self) -> list[JSONDict]:
        """The oldest undelivered update of each chat with nothing in flight."""
        if self.url not in self.routes or self._stopping:
            return []  # no webhook, or one no test routed: updates wait, undelivered
        chosen: list[JSONDict] = []
        seen: set[int | None] = set()
        for update in self.pending():
            chat = chat_of(update)
            if chat in seen:
                continue
            seen.add(chat)
            if chat not in self._in_flight:
                chosen.append(update)
        return chosen

    async def _run(self) -> None:
        while not self._stopping:
            await self.wait_for(lambda: bool(self._ready()) or self._stopping, 3600.0)
            for update in self._ready():
                chat = chat_of(update)
                self._in_flight.add(chat)
                task = asyncio.create_task(self._deliver(update, chat))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: JSONDict, chat: int | None) -> None:
        delay = FIRST_RETRY
        try:
            while not self._stopping and self.url:
                status = await self._post(update, chat)
                if 200 <= status < 300:
                    self.accepted(update)
                    return
                await asyncio.sleep(delay)  # Telegram's retry after a refused delivery
                delay = min(delay * 2, LAST_RETRY)
        finally:
            self._in_flight.discard(chat)
            self.notify()

    async def _post(self, update: JSONDict, chat: int | None) -> int:
        backend = self.routes[self.url].next_backend()
        headers = {}
        secret = self.forged_secret if self.forged_secret is not None else self.secret
        if secret:
            headers[HEADER] = secret
        assert self._session is not None
        try:
            async with self._session.post(backend, json=update, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.debug("webhook delivery to %s failed: %s", backend, type(exc).__name__)
            status = 0
        self.attempts.append(Attempt(int(update["update_id"]), chat, backend, status))
        return status
