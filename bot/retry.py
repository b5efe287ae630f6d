"""Sends that survive a flaky Bot API: 429s, 5xx answers and dropped connections are retried.

PTB's AIORateLimiter already waits out `429 Too Many Requests` (retry_after). This subclass
also retries `NetworkError`s (a 502 from a proxy, a reset connection) a few times with a
short backoff, but never a `BadRequest` (PTB derives it from NetworkError; a 400 answers the
same every time). A timeout is retried only for calls that are safe to repeat (edits,
deletes, answers); a timed-out send may still have been delivered, and a duplicate message
is worse than one logged failure. getUpdates never comes through here (PTB's polling loop
retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

BACKOFF = (0.5, 1.5)  # seconds before the 2nd and 3rd attempt
NOT_REPEATABLE = ("send", "forward", "copy")  # prefixes of calls a timeout must not repeat


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries transient network failures (see the module doc)."""

    def __init__(self, *, backoff: tuple[float, ...] = BACKOFF, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backoff = backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        for attempt, pause in enumerate((*self.backoff, None)):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise  # PTB derives it from NetworkError, but a 400 will not change on retry
            except NetworkError as exc:
                repeatable = not (isinstance(exc, TimedOut) and endpoint.startswith(NOT_REPEATABLE))
                if pause is None or not repeatable:
                    raise
                logger.info(
                    "%s failed (%s), attempt %d; retrying in %.1f s",
                    endpoint,
                    type(exc).__name__,
                    attempt + 1,
                    pause,
                )
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")
