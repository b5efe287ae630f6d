"""Sends that survive a flaky Bot API: 429s, 5xx answers and dropped connections are retried.

PTB's AIORateLimiter already waits out `429 Too Many Requests` (retry_after). This subclass
also retries `NetworkError`s (a 502 from a proxy, a reset connection) a few times with a
short backoff, but never a `BadRequest` (PTB derives it from NetworkError; a 400 answers the
same every time). A timeout is retried only for calls that are safe to repeat (edits,
deletes, answers); a timed-out send may still have been delivered, and a duplicate message
is worse than one logged failure. getUpdates never comes through here (PTB's polling loop
retries).

Telegram's ~30 messages a second is a budget for bulk notifications to many people. Answers
to a person's own update are bounded by what people send (and by the flood guard), so they
skip that overall budget: 200 answers queued behind it took 6.7 s at least (bench/burst.py).
`PerPersonOrder` runs each update inside `answering()`, and tasks it starts (a memo's
transcript) inherit that; scheduled fan-out (pings, prompts, digests) runs outside it
(`FanOutJobQueue`) and keeps 30/s (bench/fanout.py). Group limits, a 429's pause of every
send and its retries apply to answers too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter, Job, JobQueue

logger = logging.getLogger(__name__)

BACKOFF = (0.5, 1.5)  # seconds before the 2nd and 3rd attempt
NOT_REPEATABLE = ("send", "forward", "copy")  # prefixes of calls a timeout must not repeat

_answering: ContextVar[bool] = ContextVar("answering", default=False)


@contextlib.contextmanager
def answering(yes: bool = True) -> Iterator[None]:
    """Marks what runs inside, and the tasks it starts, as answering an incoming update (or,
    with False, as not: a job whose timer was started while answering)."""
    token = _answering.set(yes)
    try:
        yield
    finally:
        _answering.reset(token)


def outside_budget(data: dict[str, Any]) -> bool:
    """Whether this call answers an update in a private chat (positive chat id)."""
    if not _answering.get():
        return False
    chat_id = data.get("chat_id")
    with contextlib.suppress(TypeError, ValueError):
        return chat_id is not None and int(chat_id) > 0
    return False


class FanOutJobQueue(JobQueue[Any]):
    """A JobQueue whose jobs always send within the budget.

    A job's task copies the context of whatever woke APScheduler's timer, which is an update's
    when a handler added or changed a job: without this, 10,000 pings due at once could run
    as answers.
    """

    @staticmethod
    async def job_callback(job_queue: JobQueue[Any], job: Job[Any]) -> None:
        with answering(False):
            await JobQueue.job_callback(job_queue, job)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries transient network failures (see the module doc)."""

    def __init__(
        self,
        *,
        backoff: tuple[float, ...] = BACKOFF,
        answers_budgeted: bool = False,
        **kwargs: Any,
    ) -> None:
        """Args:
        backoff: seconds to wait before each retry of a transient failure.
        answers_budgeted: hold answers to updates in the overall budget too (as PTB does;
            bench/burst.py's "as before" row).
        **kwargs: AIORateLimiter's (rates, max_retries of a 429).
        """
        super().__init__(**kwargs)
        self.backoff = backoff
        self.answers_budgeted = answers_budgeted

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not self.answers_budgeted and outside_budget(data):
            # AIORateLimiter holds any call naming a chat in the overall budget; without the
            # chat_id (a private chat has no group limit) it applies only the 429 handling
            data = {key: value for key, value in data.items() if key != "chat_id"}
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
