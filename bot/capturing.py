"""The capture service: a saved memo becomes text, and the person sees it.

`transcribe_capture` hears one capture through the voice pipeline (bot/voice.py), records
the outcome on its row and edits the "transcribing…" reply into the transcript with its
buttons (bot/capture_views.py), or into a kind sentence when it could not be heard. Failed
or interrupted memos are retried by `/retry` (`retry_all`) and once at startup
(`retry_unfinished`, up to STARTUP_MAX_ATTEMPTS attempts, transient failures only).
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import InlineKeyboardMarkup

from bot import texts, voice
from bot.capture_views import card_keyboard, card_text, failure_text
from bot.context import BetweenApp, BotContext
from bot.telegram_io import edit_message
from storage.captures import CaptureRepository
from storage.models import Capture, CaptureStatus, TherapySession
from storage.sessions import SessionRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

STARTUP_MAX_ATTEMPTS = 3


async def transcribe_capture(
    application: BetweenApp,
    user_id: int,
    capture_id: int,
    *,
    edit_message_id: int | None = None,
    header: str | None = None,
    notify_failure: bool = True,
) -> CaptureStatus | None:
    """Downloads and transcribes one capture, records the outcome and shows it to the person.

    Args:
        application: the running application (bot, database, transcriber).
        user_id: the owner of the capture.
        capture_id: the capture to transcribe (pending, failed or empty).
        edit_message_id: a "transcribing…" message to turn into the result; None sends anew.
        header: a line above the transcript (e.g. when it lands after a restart).
        notify_failure: also tell the person when it fails (else only a success is sent).

    Returns:
        The status it ended with, or None when it was skipped (already being worked on,
        deleted, or not this person's).
    """
    busy = application.bot_data.transcribing
    if capture_id in busy:
        return None
    busy.add(capture_id)
    try:
        return await _transcribe(
            application, user_id, capture_id, edit_message_id, header, notify_failure
        )
    finally:
        busy.discard(capture_id)


async def _transcribe(
    application: BetweenApp,
    user_id: int,
    capture_id: int,
    edit_message_id: int | None,
    header: str | None,
    notify_failure: bool,
) -> CaptureStatus | None:
    services = application.bot_data
    settings = services.settings
    db = services.sessionmaker
    if db is None or not voice.ready(application):
        return None  # shutting down: the row stays pending and is retried at startup
    async with db() as s, s.begin():
        user = await UserRepository(s).get(user_id)
        capture = await CaptureRepository(s).start_attempt(user_id, capture_id)
        if user is None or capture is None or capture.file_id is None:
            return None
        session = await SessionRepository(s).get(user_id, capture.session_id)
    if session is None:  # sessions go only with their captures: deleted meanwhile
        return None
    started = time.perf_counter()
    memo = voice.Memo(
        capture.kind,
        capture.file_id,
        capture.file_unique_id or "",
        capture.file_size,
        capture.duration,
    )
    heard = await voice.hear(
        application,
        memo,
        chat_id=capture.chat_id,
        language=user.language,
        keep_as=voice.audio_path(user_id, capture.id) if user.keep_audio else None,
        user_id=user_id,
        capture=(capture.id, capture.attempts),
    )
    error: str | None = None
    if isinstance(heard, voice.Heard):
        status, text = CaptureStatus.TRANSCRIBED, heard.text
    elif heard.failure == voice.Failure.NO_SPEECH:
        status, text, error = CaptureStatus.EMPTY, None, heard.failure.value
    else:
        status, text, error = CaptureStatus.FAILED, None, heard.failure.value
    async with db() as s, s.begin():
        row = await CaptureRepository(s).finish(
            user_id, capture_id, status=status, text=text, error=error, audio_path=heard.audio_path
        )
    wall = time.perf_counter() - started
    audio_seconds = heard.seconds
    logger.info(
        "capture %s user %s: %s, %s s, %s bytes, %.1f s audio, wall %.2f s, RTF %.2f, "
        "attempt %s -> %s%s",
        capture_id,
        user_id,
        capture.kind,
        capture.duration,
        capture.file_size,
        audio_seconds,
        wall,
        wall / audio_seconds if audio_seconds else 0.0,
        capture.attempts,
        status,
        f" ({error})" if error else "",
    )
    if row is None or row.status != status:
        return None if row is None else row.status  # deleted or fixed by hand meanwhile
    if status == CaptureStatus.TRANSCRIBED:
        await show_card(application, row, session, edit_message_id, header)
    elif notify_failure:
        await show(
            application,
            row,
            failure_text(row, settings.max_voice_seconds),
            card_keyboard(row),
            edit_message_id,
        )
    return status


async def show_card(
    application: BetweenApp,
    capture: Capture,
    session: TherapySession,
    edit_message_id: int | None = None,
    header: str | None = None,
) -> None:
    """Shows a capture with its buttons (editing a message when given one)."""
    text = card_text(capture, session, header)
    await show(application, capture, text, card_keyboard(capture), edit_message_id)


async def show(
    application: BetweenApp,
    capture: Capture,
    text: str,
    keyboard: InlineKeyboardMarkup,
    edit_message_id: int | None = None,
) -> None:
    """Edits `edit_message_id` into this text, else sends it; remembers the message id."""
    message_id = await edit_message(
        application.bot, capture.chat_id, edit_message_id, text, reply_markup=keyboard, or_send=True
    )
    if message_id is None:
        logger.warning("could not show capture %s", capture.id)
        return
    if message_id != capture.reply_message_id:
        await remember_reply(application, capture, message_id)


async def remember_reply(application: BetweenApp, capture: Capture, message_id: int) -> None:
    """Stores which bot message shows the capture (so a later result can edit it)."""
    db = application.bot_data.sessionmaker
    if db is None:  # shutting down
        return
    async with db() as s, s.begin():
        await CaptureRepository(s).set_reply(capture.user_id, capture.id, message_id)
    capture.reply_message_id = message_id


# --------------------------------------------------------------------------- retries


async def retry_all(
    application: BetweenApp,
    user_id: int,
    captures: list[Capture],
    *,
    header: str | None,
    notify: set[int],
) -> int:
    """Retries one person's captures one after another; returns how many got their text.

    An interrupted memo's result replaces its own "transcribing…" placeholder (a new
    message only when that edit fails); a failed one's result comes as a new message, so
    the answer to /retry is where the person is reading.
    """
    landed = 0
    for capture in captures:
        status = await transcribe_capture(
            application,
            user_id,
            capture.id,
            edit_message_id=(
                capture.reply_message_id if capture.status == CaptureStatus.PENDING else None
            ),
            header=header,
            notify_failure=capture.id in notify,
        )
        landed += status == CaptureStatus.TRANSCRIBED
    return landed


async def retry_unfinished(application: BetweenApp) -> None:
    """At startup, schedules a background retry of interrupted or transiently failed memos."""
    if application.job_queue is None:
        logger.warning("no job queue: unfinished transcriptions wait for /retry")
        return
    application.job_queue.run_once(_retry_job, when=0, name="capture:retry")


async def _retry_job(context: BotContext) -> None:
    """Retries every person's unfinished memos; each person hears when theirs lands."""
    work: dict[int, list[Capture]] = {}
    statuses = (CaptureStatus.PENDING, CaptureStatus.FAILED)
    async with context.db() as s:
        repo = CaptureRepository(s)
        for user_id in await repo.users_with_unfinished(STARTUP_MAX_ATTEMPTS, statuses):
            captures = await repo.retryable(user_id, max_attempts=STARTUP_MAX_ATTEMPTS)
            work[user_id] = [
                c
                for c in captures
                if c.status == CaptureStatus.PENDING
                or (c.status == CaptureStatus.FAILED and c.error in voice.TRANSIENT_ERRORS)
            ]
    if not any(work.values()):
        return
    logger.info("retrying %d unfinished captures", sum(len(v) for v in work.values()))
    application = context.application
    results = await asyncio.gather(
        *(
            retry_all(
                application,
                user_id,
                captures,
                header=texts.TRANSCRIBED_LATER,
                # an interrupted memo was never answered: say how it ended either way
                notify={c.id for c in captures if c.status == CaptureStatus.PENDING},
            )
            for user_id, captures in work.items()
            if captures
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            logger.error("startup retry failed: %s", type(result).__name__, exc_info=result)
