"""Tidy mode: delete the bot's transcript messages from the chat after `User.tidy_hours`.

Telegram keeps chat history on its servers; someone who picks up the phone sees it. With
tidy mode on (/settings), a periodic job deletes each capture's card (the bot message that
shows the transcript, `Capture.reply_message_id`) once it is older than the person's tidy
hours. The stored copy stays; the message id is cleared once the message is gone, or once
Telegram refuses (already deleted by hand, say), so each card is tried once per problem.

Telegram lets a bot delete a message only within 48 hours of sending it, so tidy hours are
capped at MAX_HOURS (47): a card older than 48 h can no longer be deleted and is forgotten.
Network trouble leaves the id in place for the next run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.clock import utcnow
from bot.context import BetweenApp, BotContext
from storage.models import Capture, User

logger = logging.getLogger(__name__)

EVERY = timedelta(minutes=10)  # how often due cards are looked for
FIRST = timedelta(seconds=30)  # the first run after startup
MAX_HOURS = 47  # Telegram refuses to delete messages older than 48 h
DELETE_LIMIT = timedelta(hours=48)
JOB_NAME = "tidy"


def plan(shown_at: datetime, hours: int, now: datetime) -> datetime | None:
    """When a card shown at `shown_at` goes (naive UTC); None once Telegram no longer lets it.

    Args:
        shown_at: when the card showed its transcript.
        hours: the person's tidy hours (capped at MAX_HOURS).
        now: the current time (naive UTC).
    """
    if now - shown_at >= DELETE_LIMIT:
        return None
    return shown_at + _kept_for(hours)


def _kept_for(hours: int) -> timedelta:
    return timedelta(hours=min(hours, MAX_HOURS))


async def tidy_user(application: BetweenApp, user_id: int, hours: int) -> int:
    """Deletes one person's transcript cards older than `hours`; returns how many went.

    Args:
        application: the running application.
        user_id: the person.
        hours: their tidy hours (capped at MAX_HOURS).
    """
    db = application.bot_data.sessionmaker
    assert db is not None
    now = utcnow()
    shown_at = func.coalesce(Capture.transcribed_at, Capture.created_at)
    async with db() as s:
        rows = (
            await s.execute(
                select(Capture.id, Capture.chat_id, Capture.reply_message_id, shown_at)
                .where(
                    Capture.user_id == user_id,
                    Capture.reply_message_id.is_not(None),
                    shown_at <= now - _kept_for(hours),
                )
                .order_by(Capture.id)
            )
        ).all()
    done: list[int] = []
    deleted = 0
    for capture_id, chat_id, message_id, at in rows:
        if plan(at, hours, now) is None or message_id is None:
            done.append(capture_id)  # too old for Telegram to delete (or none): nothing to try
            continue
        try:
            await application.bot.delete_message(chat_id, message_id)
            deleted += 1
            done.append(capture_id)
        except (BadRequest, Forbidden) as exc:  # gone already, or the bot was blocked
            logger.info("tidy: card of capture %s not deleted: %s", capture_id, exc.message)
            done.append(capture_id)
        except TelegramError as exc:  # network trouble: try again next run
            logger.warning(
                "tidy: card of capture %s kept for now: %s", capture_id, type(exc).__name__
            )
    if done:
        async with db() as s, s.begin():
            await s.execute(
                update(Capture)
                .where(Capture.user_id == user_id, Capture.id.in_(done))
                .values(reply_message_id=None)
            )
    if rows:
        logger.info("tidy: user %s, %d cards deleted, %d due", user_id, deleted, len(rows))
    return deleted


async def tidy_all(application: BetweenApp) -> int:
    """Runs tidy mode for everyone who turned it on; returns how many messages were deleted."""
    db = application.bot_data.sessionmaker
    if db is None:
        return 0
    async with db() as s:
        people = (
            await s.execute(select(User.id, User.tidy_hours).where(User.tidy_hours.is_not(None)))
        ).all()
    deleted = 0
    for user_id, hours in people:
        if hours is None:  # filtered out above; the column is nullable
            continue
        try:
            deleted += await tidy_user(application, user_id, hours)
        except Exception:
            logger.exception("tidy for user %s failed", user_id)
    return deleted


async def fire(context: BotContext) -> None:
    """Tidies everyone's chat (the periodic job)."""
    await tidy_all(context.application)


def start(application: BetweenApp) -> None:
    """Starts the periodic job (at startup: the database is open by now)."""
    if application.job_queue is None:
        logger.warning("no job queue: tidy mode is off")
        return
    application.job_queue.run_repeating(  # by id, so a second rebuild replaces it
        fire,
        interval=EVERY,
        first=FIRST,
        name=JOB_NAME,
        job_kwargs={"id": JOB_NAME, "replace_existing": True, "coalesce": True},
    )
