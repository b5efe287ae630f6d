"""Capture: a voice memo, audio, round video or typed sentence right after a session.

Nothing is lost: the capture row is committed (status `pending`) before any slow step, the
person is told at once which session it went to, and only then is the memo heard by the
capture service (bot/capturing.py, through bot/voice.py) in a background task, so other
people are answered meanwhile. The "transcribing…" reply is then edited into the transcript
with three buttons: ★ what landed, ✎ fix (handlers/fix.py), 🗑 delete. Failed or interrupted
transcriptions are retried by `/retry` and once at startup.

Registered after every flow that takes free text (app.py's order): any text or audio no
conversation took becomes a capture. Edits are handlers/edits.py's; commands and messages
nobody took are handlers/fallbacks.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import UTC
from pathlib import Path

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler

from bot import texts, voice
from bot.capture_views import (
    PREFIX,
    card_keyboard,
    confirm_keyboard,
    echo,
    failure_text,
    session_label,
)
from bot.capturing import (
    remember_reply,
    retry_all,
    show,
    show_card,
    transcribe_capture,
)
from bot.clock import naive, zone_of
from bot.context import BetweenApp, BotContext
from bot.errors import NoPersonError
from bot.schedule import last_therapy
from bot.telegram_io import edit_message, edit_shown, in_background
from handlers.common import (
    NEW_AUDIO,
    NEW_TEXT,
    answer_query,
    command,
    ensure_user,
    local_now,
    reply,
)
from storage.captures import CaptureRepository
from storage.models import Capture, CaptureKind, CaptureStatus, TherapySession
from storage.sessions import SessionRepository

logger = logging.getLogger(__name__)

CALLBACK = re.compile(r"^cap:(land|fix|del|delok|keep):(\d{1,12})$")


async def _new_capture(
    update: Update, context: BotContext, kind: CaptureKind, status: CaptureStatus, **values: object
) -> tuple[Capture, TherapySession]:
    """Commits a capture to the current session (or a new one dated today)."""
    message = update.effective_message
    if message is None:
        raise NoPersonError(update.update_id)
    async with context.db() as s, s.begin():  # the person, the session and the row: one commit
        user = await ensure_user(update, context, s)
        now = local_now(user)
        therapy = last_therapy(user, now)
        session, created = await SessionRepository(s).current_or_new(
            user.id, naive(now), now.date(), therapy[1] if therapy else None
        )
        capture = await CaptureRepository(s).add(
            user.id,
            session_id=session.id,
            kind=kind,
            status=status,
            chat_id=message.chat_id,
            message_id=message.message_id,
            **values,  # type: ignore[arg-type]  # each caller passes the Capture columns it sets
        )
    logger.info(
        "capture %s user %s: %s saved to %s session %s",
        capture.id,
        user.id,
        kind,
        "new" if created else "current",
        session.id,
    )
    return capture, session


async def keep_message(update: Update, context: BotContext) -> bool:
    """Keeps a new message's words (typed text or audio) as a capture; False when it has none.

    Conversations call this for a message that is plainly not their answer, so it is kept
    exactly as if no conversation had been open.
    """
    message = update.effective_message
    if message is None:
        return False
    if voice.memo_of(message) is not None:
        await on_audio(update, context)
        return True
    if message.text and not message.text.startswith("/"):
        await on_text(update, context)
        return True
    return False


async def on_audio(update: Update, context: BotContext) -> None:
    """Saves the memo at once, then transcribes it in the background and shows the text."""
    message = update.effective_message
    media = voice.memo_of(message) if message is not None else None
    if media is None:
        return
    capture, session = await _new_capture(
        update,
        context,
        media.kind,
        CaptureStatus.PENDING,
        file_id=media.file_id,
        file_unique_id=media.file_unique_id,
        file_size=media.file_size,
        duration=media.duration,
    )
    application = context.application
    refused = voice.precheck(capture, context.settings)
    if refused is not None:
        async with context.db() as s, s.begin():
            row = await CaptureRepository(s).finish(
                capture.user_id, capture.id, status=CaptureStatus.FAILED, error=refused.value
            )
        logger.info("capture %s refused before download: %s", capture.id, refused)
        if row is not None:
            text = failure_text(row, context.settings.max_voice_seconds)
            await show(application, row, text, card_keyboard(row))
        return
    placeholder = await reply(update, texts.TRANSCRIBING.format(session=session_label(session)))
    if placeholder is not None:
        await remember_reply(application, capture, placeholder.message_id)
    work = transcribe_capture(
        application,
        capture.user_id,
        capture.id,
        edit_message_id=placeholder.message_id if placeholder else None,
    )
    await in_background(application, work, update=update, name=f"transcribe:{capture.id}")


async def on_text(update: Update, context: BotContext) -> None:
    """Keeps a typed (or forwarded) sentence as a capture and says which session it joined."""
    message = update.effective_message
    if message is None or not message.text:
        return
    capture, session = await _new_capture(
        update, context, CaptureKind.TEXT, CaptureStatus.SAVED, text=message.text
    )
    await show_card(context.application, capture, session)


async def mark_command(update: Update, context: BotContext) -> None:
    """Stamps a moment of the session (with an optional note) to fill in later."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message is not None else []
    note = parts[1].strip() if len(parts) > 1 else None
    capture, session = await _new_capture(
        update, context, CaptureKind.MARK, CaptureStatus.SAVED, text=note or None
    )
    user = await ensure_user(update, context)
    at = capture.created_at.replace(tzinfo=UTC).astimezone(zone_of(user))
    if note:
        text = texts.MARKED_NOTE.format(time=f"{at:%H:%M}", note=echo(note))
    else:
        text = texts.MARKED.format(time=f"{at:%H:%M}", session=session_label(session))
    await show(context.application, capture, text, card_keyboard(capture))


async def retry_command(update: Update, context: BotContext) -> None:
    """Transcribes again the person's memos that failed, found no words or were interrupted."""
    user = await ensure_user(update, context)
    async with context.db() as s:
        captures = await CaptureRepository(s).retryable(user.id)
    busy = context.services.transcribing
    todo = [c for c in captures if c.id not in busy]
    if not todo:
        await reply(update, texts.RETRY_BUSY if captures else texts.NOTHING_TO_RETRY)
        return
    memos = "memo" if len(todo) == 1 else "memos"
    await reply(update, texts.RETRYING.format(count=len(todo), memos=memos))
    work = retry_all(context.application, user.id, todo, header=None, notify={c.id for c in todo})
    await in_background(context.application, work, update=update, name=f"retry:{user.id}")


# --------------------------------------------------------------------------- buttons


async def on_button(update: Update, context: BotContext) -> None:
    """Handles ★ (what landed) and 🗑 (delete, after a confirm) on a capture."""
    query = update.callback_query
    match = CALLBACK.match(query.data or "") if query is not None else None
    if query is None or match is None:
        await answer_query(query, texts.GONE)
        return
    action, capture_id = match.group(1), int(match.group(2))
    user_id = query.from_user.id
    if action == "land":
        await _land(update, context, user_id, capture_id)
        return
    async with context.db() as s, s.begin():
        repo = CaptureRepository(s)
        capture = await repo.get(user_id, capture_id)
        if capture is not None and action == "delok":
            await repo.delete(user_id, capture_id)
    if capture is None:
        await answer_query(query, texts.GONE)
        return
    if action == "del":
        await answer_query(query)
        await edit_shown(query.message, reply_markup=confirm_keyboard(capture_id))
    elif action == "keep":
        await answer_query(query, texts.DELETE_KEPT)
        await edit_shown(query.message, reply_markup=card_keyboard(capture))
    elif action == "delok":
        logger.info("capture %s deleted by user %s", capture_id, user_id)
        if capture.audio_path:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(Path(capture.audio_path).unlink, missing_ok=True)
        await answer_query(query, texts.DELETED)
        await edit_shown(query.message, texts.DELETED)
    else:  # "fix" arrives here only when the conversation did not take it
        await answer_query(query)


async def _land(update: Update, context: BotContext, user_id: int, capture_id: int) -> None:
    """Marks a capture as what landed and refreshes the buttons of the one it replaces."""
    query = update.callback_query
    async with context.db() as s, s.begin():
        repo = CaptureRepository(s)
        capture = await repo.get(user_id, capture_id)
        if capture is None:
            await answer_query(query, texts.GONE)
            return
        if not capture.text or capture.kind == CaptureKind.MARK:
            await answer_query(query, texts.LANDED_NEEDS_WORDS)
            return
        capture, before = await repo.mark_landed(user_id, capture_id)
    if capture is None:
        await answer_query(query, texts.GONE)
        return
    logger.info("capture %s marked as landed by user %s", capture_id, user_id)
    await answer_query(query, texts.LANDED)
    if query is not None:
        await edit_shown(query.message, reply_markup=card_keyboard(capture))
    for other in before:
        if other.reply_message_id:
            await edit_message(
                context.bot,
                other.chat_id,
                other.reply_message_id,
                reply_markup=card_keyboard(other),
            )


def register(application: BetweenApp) -> None:
    """Adds the capture handlers; they must come after every flow that takes free text."""
    application.add_handler(command("mark", mark_command))
    application.add_handler(command("retry", retry_command))
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{PREFIX}"))
    application.add_handler(MessageHandler(NEW_AUDIO, on_audio))
    application.add_handler(MessageHandler(NEW_TEXT, on_text))
