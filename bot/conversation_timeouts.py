"""Conversation timeouts that survive a restart.

PTB ends a quiet conversation with a JobQueue job, and jobs live in memory: after a restart
a resumed conversation would wait forever and read every later message as its answer.
The persistence drops states already past their timeout when it loads them, and this
module schedules the rest of the timeout of every state it resumed. When that time comes
and the person has not written since (PTB has no timeout job of its own for the key), the
conversation is ended the way PTB ends it.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram.ext import ConversationHandler

from bot.context import BetweenApp, BotContext

if TYPE_CHECKING:
    from telegram.ext._utils.types import ConversationKey

    from storage.persistence import DatabasePersistence

logger = logging.getLogger(__name__)

Conversation = ConversationHandler[BotContext]


def conversations(application: BetweenApp) -> list[Conversation]:
    """Every ConversationHandler registered, in any group."""
    return [
        handler
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, ConversationHandler)
    ]


def timeout_of(handler: Conversation) -> timedelta | None:
    """The handler's conversation_timeout as a timedelta (None: it has none)."""
    value = handler.conversation_timeout
    if not value:
        return None
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def persisted_timeouts(application: BetweenApp) -> dict[str, timedelta]:
    """Timeout per persistent conversation name, for the persistence to drop stale states."""
    found: dict[str, timedelta] = {}
    for handler in conversations(application):
        timeout = timeout_of(handler)
        if handler.persistent and handler.name and timeout:
            found[handler.name] = timeout
    return found


def restore(application: BetweenApp, persistence: DatabasePersistence) -> int:
    """Schedules the rest of each resumed conversation's timeout; returns how many."""
    job_queue = application.job_queue
    if job_queue is None:
        return 0
    count = 0
    for handler in conversations(application):
        if not (handler.persistent and handler.name and timeout_of(handler)):
            continue
        for key, changed in persistence.resumed.get(handler.name, {}).items():
            schedule(application, handler, key, changed)
            count += 1
    if count:
        logger.info("%d resumed conversations have their timeout again", count)
    return count


def schedule(
    application: BetweenApp, handler: Conversation, key: ConversationKey, changed: datetime
) -> None:
    """Ends the conversation at `changed` (naive UTC) plus its timeout, unless it goes on.

    One such job per conversation key: scheduling again replaces it.
    """
    job_queue = application.job_queue
    timeout = timeout_of(handler)
    if job_queue is None or timeout is None:
        return
    name = f"conversation-timeout:{handler.name}:{list(key)}"  # the APScheduler id: replaced
    job_queue.run_once(
        _expire,
        when=max(datetime.now(UTC), changed.replace(tzinfo=UTC) + timeout),
        data=(handler, key),
        name=name,
        job_kwargs={"id": name, "replace_existing": True, "misfire_grace_time": None},
    )


async def _expire(context: BotContext) -> None:
    """Ends a resumed conversation nobody touched since the restart.

    With replicas (bot/replicas.py) it runs holding the person: a replica that takes the
    person afresh has just re-derived this conversation from its row (ended it if due, else
    scheduled this again for when it is), so only a replica that held them already decides.
    """
    job = context.job
    if job is None or not isinstance(job.data, tuple):
        return
    handler, key = job.data
    from bot.replicas import holds_of  # bot.replicas imports this module

    holds = holds_of(context.application)
    person = key_person(key)
    if holds is None or person is None:
        end(handler, key)
        return
    async with holds.turn(person) as fresh:
        if not fresh:
            end(handler, key)


def key_person(key: ConversationKey) -> int | None:
    """The person of a (chat_id, user_id) key: its last integer part (private chats: the same)."""
    for part in reversed(key):
        if isinstance(part, int):
            return part
    return None


def end(handler: Conversation, key: ConversationKey) -> bool:
    """Ends one conversation unless it is active again; True when it was ended.

    A conversation the person went on with after the restart has a PTB timeout job of its
    own (`timeout_jobs`), and that one decides.
    """
    if key in handler.timeout_jobs:
        return False
    states: MutableMapping[Any, object] = handler._conversations  # private: PTB has no public way
    if states.get(key) is None:
        return False
    handler._update_state(ConversationHandler.END, key)  # private: what PTB its timeout calls
    logger.info("conversation %s timed out after a restart", handler.name)
    return True
