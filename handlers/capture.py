"""Capture: a voice memo, audio, round video or typed sentence right after a session.

Nothing is lost: the capture row is committed (status `pending`) before any slow step, the
person is told at once which session it went to, and only then is the audio downloaded and
transcribed, in the background, so other people are answered meanwhile. The "transcribing…"
reply is then edited into the transcript with three buttons: ★ what landed, ✎ fix, 🗑 delete.
Failed or interrupted transcriptions are retried by `/retry` and once at startup.

Registered after every flow that takes free text (app.py's order): any text or audio no
conversation took becomes a capture. Edits are handlers/edits.py's; commands and messages
nobody took are handlers/fallbacks.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import texts
from bot.clock import last_therapy, naive, zone_of
from bot.config import Settings
from bot.context import BetweenApp, BotContext
from bot.errors import AudioDecodeError, AudioTooLongError, NoPersonError, TranscriptionError
from handlers.common import (
    NEW,
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
from storage.users import UserRepository

logger = logging.getLogger(__name__)

FIXING = 0  # the ✎ Fix conversation: waiting for the corrected text
PREFIX = "cap:"
CALLBACK = re.compile(r"^cap:(land|fix|del|delok|keep):(\d{1,12})$")
FIX_TIMEOUT = timedelta(minutes=30)  # a forgotten ✎ must not swallow next week's capture

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile on api.telegram.org refuses larger files
OFFICIAL_API = "https://api.telegram.org"
STARTUP_MAX_ATTEMPTS = 3
CHAT_ACTION_EVERY = 4.5  # Telegram shows a chat action for about 5 seconds
ECHO_LIMIT = 3500  # leaves room for the "Saved to..." line under Telegram's 4096
AUDIO_DIR = Path("data") / "audio"

# Error codes stored on the row (never content). Startup retries only the transient ones.
TOO_LONG, TOO_BIG, UNDECODABLE, NO_SPEECH = "too_long", "too_big", "undecodable", "no_speech"
DOWNLOAD_FAILED, TRANSCRIBE_FAILED = "download_failed", "transcribe_failed"
TRANSIENT_ERRORS = frozenset({DOWNLOAD_FAILED, TRANSCRIBE_FAILED})


@dataclass(frozen=True)
class Media:
    """The audio part of a message, as Telegram describes it (nothing downloaded yet)."""

    kind: CaptureKind
    file_id: str
    file_unique_id: str
    file_size: int | None
    duration: int | None


def _seconds(item: TelegramObject) -> int | None:
    """Telegram's duration in whole seconds (read without PTB's int/timedelta deprecation)."""
    value = item.to_dict().get("duration")
    return int(value) if isinstance(value, int | float) else None


def media_of(message: Message) -> Media | None:
    """The voice, audio, video note or audio document in a message, if any.

    An .ogg or .m4a sent as a file counts as audio; Telegram gives it no duration.
    """
    candidates = (
        (CaptureKind.VOICE, message.voice),
        (CaptureKind.VIDEO_NOTE, message.video_note),
        (CaptureKind.AUDIO, message.audio),
        (CaptureKind.AUDIO, message.document),
    )
    for kind, item in candidates:
        if item is not None:
            return Media(kind, item.file_id, item.file_unique_id, item.file_size, _seconds(item))
    return None


# --------------------------------------------------------------------------- presentation


def session_label(session: TherapySession) -> str:
    """Tue 24 Nov."""
    day = session.local_date
    return texts.SESSION_LABEL.format(weekday=f"{day:%a}", day=day.day, month=f"{day:%b}")


def echo(text: str) -> str:
    """The text as it fits in one Telegram message (it is stored whole)."""
    if len(text) <= ECHO_LIMIT:
        return text
    return text[:ECHO_LIMIT].rstrip() + texts.ECHO_CUT.format(length=len(text))


def card_text(capture: Capture, session: TherapySession, header: str | None = None) -> str:
    """The message that shows a capture: its words, and which session it was saved to."""
    saved = texts.SAVED_TO.format(session=session_label(session))
    body = (
        texts.CAPTURE_CARD.format(text=echo(capture.text), saved=saved) if capture.text else saved
    )
    return f"{header}\n\n{body}" if header else body


def card_keyboard(capture: Capture) -> InlineKeyboardMarkup:
    """★ / ✎ / 🗑 for a capture with words; ✎ / 🗑 for one without (or a mark)."""
    fix_label = texts.BUTTON_ADD_NOTE if capture.kind == CaptureKind.MARK else texts.BUTTON_FIX
    rows: list[list[InlineKeyboardButton]] = []
    if capture.text and capture.kind != CaptureKind.MARK:
        land = texts.BUTTON_LANDED if capture.landed else texts.BUTTON_LAND
        rows.append([InlineKeyboardButton(land, callback_data=f"{PREFIX}land:{capture.id}")])
    rows.append(
        [
            InlineKeyboardButton(fix_label, callback_data=f"{PREFIX}fix:{capture.id}"),
            InlineKeyboardButton(texts.BUTTON_DELETE, callback_data=f"{PREFIX}del:{capture.id}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def confirm_keyboard(capture_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.BUTTON_CONFIRM_DELETE, callback_data=f"{PREFIX}delok:{capture_id}"
                ),
                InlineKeyboardButton(texts.BUTTON_KEEP, callback_data=f"{PREFIX}keep:{capture_id}"),
            ]
        ]
    )


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:.0f}" if seconds % 60 == 0 else f"{seconds / 60:.1f}"


def failure_text(capture: Capture, max_seconds: int) -> str:
    """The kind sentence for the error code stored on a capture."""
    if capture.error == TOO_LONG:
        length = _minutes(capture.duration) if capture.duration else f"over {_minutes(max_seconds)}"
        return texts.TOO_LONG.format(minutes=length, limit=_minutes(max_seconds))
    return {
        TOO_BIG: texts.TOO_BIG,
        UNDECODABLE: texts.UNDECODABLE,
        NO_SPEECH: texts.NO_SPEECH,
        DOWNLOAD_FAILED: texts.DOWNLOAD_FAILED,
    }.get(capture.error or "", texts.TRANSCRIBE_FAILED)


# --------------------------------------------------------------------------- transcription


def precheck(capture: Capture, settings: Settings) -> str | None:
    """Refuses what cannot work from Telegram's own facts, before downloading anything."""
    if capture.duration is not None and capture.duration > settings.max_voice_seconds:
        return TOO_LONG
    official = settings.telegram_api_base_url == OFFICIAL_API  # a local server has no 20 MB cap
    if official and (capture.file_size or 0) > TELEGRAM_DOWNLOAD_LIMIT:
        return TOO_BIG
    return None


async def _keep_acting(application: BetweenApp, chat_id: int) -> None:
    """Shows "typing…" until cancelled (Telegram clears a chat action after ~5 s)."""
    while True:
        try:
            await application.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            logger.debug("chat action failed in chat %s: %s", chat_id, type(exc).__name__)
            return
        await asyncio.sleep(CHAT_ACTION_EVERY)


async def _download(application: BetweenApp, file_id: str) -> tuple[bytes | None, str, str | None]:
    """Fetches the file into memory. Returns (bytes or None, file suffix, error code)."""
    try:
        file = await application.bot.get_file(file_id)
        data = await file.download_as_bytearray(read_timeout=120)
    except BadRequest as exc:
        too_big = "too big" in exc.message.lower()
        logger.info("getFile refused file: %s", "too big" if too_big else type(exc).__name__)
        return None, "", TOO_BIG if too_big else DOWNLOAD_FAILED
    except (TelegramError, OSError) as exc:
        logger.warning("download failed: %s", type(exc).__name__)
        return None, "", DOWNLOAD_FAILED
    return bytes(data), Path(file.file_path or "").suffix, None


async def _keep_audio(user_id: int, capture: Capture, data: bytes, suffix: str) -> str | None:
    """Writes the audio under data/audio/{user}/{capture}; returns the path (None on failure)."""
    if capture.kind == CaptureKind.VOICE or not suffix:
        suffix = ".ogg"
    path = AUDIO_DIR / str(user_id) / f"{capture.id}{suffix}"

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    try:
        await asyncio.to_thread(write)
    except OSError as exc:
        logger.warning("could not keep audio of capture %s: %s", capture.id, type(exc).__name__)
        return None
    return str(path)


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
    db, transcriber = services.sessionmaker, services.transcriber
    if db is None or transcriber is None:
        return None  # shutting down: the row stays pending and is retried at startup
    async with db() as s, s.begin():
        user = await UserRepository(s).get(user_id)
        capture = await CaptureRepository(s).start_attempt(user_id, capture_id)
        if user is None or capture is None or capture.file_id is None:
            return None
        session = await SessionRepository(s).get(user_id, capture.session_id)
    if session is None:  # sessions go only with their captures: deleted meanwhile
        return None
    language = user.language if transcriber.multilingual else None
    started = time.perf_counter()
    error = precheck(capture, settings)
    transcript = None
    audio_path = None
    if error is None:
        acting = asyncio.create_task(_keep_acting(application, capture.chat_id))
        try:
            data, suffix, error = await _download(application, capture.file_id)
            if data is not None:
                try:
                    transcript = await transcriber.transcribe(data, language=language)
                except AudioTooLongError:
                    error = TOO_LONG
                except AudioDecodeError:
                    error = UNDECODABLE
                except TranscriptionError:
                    logger.exception("transcription of capture %s failed", capture_id)
                    error = TRANSCRIBE_FAILED
                if user.keep_audio and transcript is not None:
                    audio_path = await _keep_audio(user_id, capture, data, suffix)
        finally:
            acting.cancel()
    if transcript is not None and transcript.text.strip():
        status, text = CaptureStatus.TRANSCRIBED, transcript.text.strip()
    elif transcript is not None:
        status, text, error = CaptureStatus.EMPTY, None, NO_SPEECH
    else:
        status, text = CaptureStatus.FAILED, None
    async with db() as s, s.begin():
        row = await CaptureRepository(s).finish(
            user_id, capture_id, status=status, text=text, error=error, audio_path=audio_path
        )
    wall = time.perf_counter() - started
    audio_seconds = transcript.audio_seconds if transcript else 0.0
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
    bot = application.bot
    message_id: int | None = None
    if edit_message_id is not None:
        try:
            await bot.edit_message_text(
                text, chat_id=capture.chat_id, message_id=edit_message_id, reply_markup=keyboard
            )
            message_id = edit_message_id
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                message_id = edit_message_id  # it already says exactly this
            else:
                logger.info("edit of capture %s failed (%s); sending anew", capture.id, exc.message)
        except TelegramError as exc:
            logger.info(
                "edit of capture %s failed (%s); sending anew", capture.id, type(exc).__name__
            )
    if message_id is None:
        try:
            sent = await bot.send_message(capture.chat_id, text, reply_markup=keyboard)
        except TelegramError as exc:
            logger.warning("could not show capture %s: %s", capture.id, type(exc).__name__)
            return
        message_id = sent.message_id
    if message_id != capture.reply_message_id:
        await _remember_reply(application, capture, message_id)


async def _remember_reply(application: BetweenApp, capture: Capture, message_id: int) -> None:
    db = application.bot_data.sessionmaker
    if db is None:  # shutting down
        return
    async with db() as s, s.begin():
        await CaptureRepository(s).set_reply(capture.user_id, capture.id, message_id)
    capture.reply_message_id = message_id


# --------------------------------------------------------------------------- handlers


async def _new_capture(
    update: Update, context: BotContext, kind: CaptureKind, status: CaptureStatus, **values: object
) -> tuple[Capture, TherapySession]:
    """Commits a capture to the current session (or a new one dated today)."""
    message = update.effective_message
    if message is None:
        raise NoPersonError(update.update_id)
    user = await ensure_user(update, context)
    async with context.db() as s, s.begin():
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
            **values,  # type: ignore[arg-type]
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
    if media_of(message) is not None:
        await on_audio(update, context)
        return True
    if message.text and not message.text.startswith("/"):
        await on_text(update, context)
        return True
    return False


async def on_audio(update: Update, context: BotContext) -> None:
    """Saves the memo at once, then transcribes it in the background and shows the text."""
    message = update.effective_message
    media = media_of(message) if message is not None else None
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
    refused = precheck(capture, context.settings)
    if refused is not None:
        async with context.db() as s, s.begin():
            row = await CaptureRepository(s).finish(
                capture.user_id, capture.id, status=CaptureStatus.FAILED, error=refused
            )
        logger.info("capture %s refused before download: %s", capture.id, refused)
        if row is not None:
            text = failure_text(row, context.settings.max_voice_seconds)
            await show(application, row, text, card_keyboard(row))
        return
    placeholder = await reply(update, texts.TRANSCRIBING.format(session=session_label(session)))
    if placeholder is not None:
        await _remember_reply(application, capture, placeholder.message_id)
    work = transcribe_capture(
        application,
        capture.user_id,
        capture.id,
        edit_message_id=placeholder.message_id if placeholder else None,
    )
    if application.running:
        application.create_task(work, update=update, name=f"transcribe:{capture.id}")
    else:  # stopping: PTB would not wait for a new task, but it waits for this update
        await work


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
    work = _retry_all(context.application, user.id, todo, header=None, notify={c.id for c in todo})
    if context.application.running:
        context.application.create_task(work, update=update, name=f"retry:{user.id}")
    else:
        await work


async def _retry_all(
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
                or (c.status == CaptureStatus.FAILED and c.error in TRANSIENT_ERRORS)
            ]
    if not any(work.values()):
        return
    logger.info("retrying %d unfinished captures", sum(len(v) for v in work.values()))
    application = context.application
    results = await asyncio.gather(
        *(
            _retry_all(
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
        await _edit_markup(query.message, confirm_keyboard(capture_id))
    elif action == "keep":
        await answer_query(query, texts.DELETE_KEPT)
        await _edit_markup(query.message, card_keyboard(capture))
    elif action == "delok":
        logger.info("capture %s deleted by user %s", capture_id, user_id)
        if capture.audio_path:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(Path(capture.audio_path).unlink, missing_ok=True)
        await answer_query(query, texts.DELETED)
        await _edit_text(query.message, texts.DELETED)
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
    await _edit_markup(query.message, card_keyboard(capture))
    for other in before:
        if other.reply_message_id:
            with contextlib.suppress(TelegramError):
                await context.bot.edit_message_reply_markup(
                    other.chat_id, other.reply_message_id, reply_markup=card_keyboard(other)
                )


async def _edit_markup(message: object, keyboard: InlineKeyboardMarkup | None) -> None:
    if isinstance(message, Message):
        try:
            await message.edit_reply_markup(keyboard)
        except TelegramError as exc:
            logger.info("edit of buttons failed: %s", type(exc).__name__)


async def _edit_text(message: object, text: str) -> None:
    if isinstance(message, Message):
        try:
            await message.edit_text(text)
        except TelegramError as exc:
            logger.info("edit of message failed: %s", type(exc).__name__)


# --------------------------------------------------------------------------- ✎ Fix


async def fix_start(update: Update, context: BotContext) -> int:
    """Asks for the corrected text of a capture."""
    query = update.callback_query
    match = CALLBACK.match(query.data or "") if query is not None else None
    capture = None
    if query is not None and match is not None:
        async with context.db() as s:
            capture = await CaptureRepository(s).get(query.from_user.id, int(match.group(2)))
    if capture is None:
        await answer_query(query, texts.GONE)
        return ConversationHandler.END
    await answer_query(query)
    context.user_data["fix_capture"] = capture.id
    await reply(update, texts.ASK_FIX)
    return FIXING


async def fix_text(update: Update, context: BotContext) -> int:
    """Replaces the capture's text with the correction and shows it again."""
    message = update.effective_message
    user = update.effective_user
    if message is None or not message.text or user is None:
        return FIXING
    capture_id = context.user_data.pop("fix_capture", None)
    capture = session = None
    if isinstance(capture_id, int):
        async with context.db() as s, s.begin():
            capture = await CaptureRepository(s).replace_text(user.id, capture_id, message.text)
            if capture is not None:
                session = await SessionRepository(s).get(user.id, capture.session_id)
    if capture is None or session is None:
        await reply(update, texts.GONE)
        return ConversationHandler.END
    logger.info("capture %s fixed by user %s (%d chars)", capture.id, user.id, len(message.text))
    old = capture.reply_message_id
    if old is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.edit_message_reply_markup(capture.chat_id, old, reply_markup=None)
    await show_card(context.application, capture, session, header=texts.FIXED)
    return ConversationHandler.END


async def fix_got_audio(update: Update, context: BotContext) -> int:
    """Keeps a memo sent while fixing as a capture of its own, and asks for the text again."""
    await on_audio(update, context)
    await reply(update, texts.KEPT_INSTEAD)
    await reply(update, texts.ASK_FIX)
    return FIXING


async def fix_not_text(update: Update, context: BotContext) -> int:
    """Asks again for text when something else arrives while fixing."""
    await reply(update, texts.FIX_NEEDS_TEXT)
    return FIXING


async def fix_cancel(update: Update, context: BotContext) -> int:
    """Leaves the capture as it was."""
    context.user_data.pop("fix_capture", None)
    await reply(update, texts.FIX_CANCELLED)
    return ConversationHandler.END


async def fix_timeout(update: Update, context: BotContext) -> None:
    """Forgets a ✎ nobody finished, so a later capture is not taken as the correction."""
    context.user_data.pop("fix_capture", None)


def register(application: BetweenApp) -> None:
    """Adds the capture handlers; they must come after every flow that takes free text."""
    application.add_handler(
        ConversationHandler(
            entry_points=[CallbackQueryHandler(fix_start, pattern=rf"^{PREFIX}fix:")],
            states={
                FIXING: [
                    MessageHandler(NEW_TEXT, fix_text),
                    command("cancel", fix_cancel),
                    MessageHandler(NEW_AUDIO, fix_got_audio),
                    MessageHandler(NEW & ~filters.COMMAND, fix_not_text),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, fix_timeout)],
            },
            fallbacks=[command("cancel", fix_cancel)],
            name="capture_fix",
            allow_reentry=True,
            conversation_timeout=FIX_TIMEOUT,
        )
    )
    application.add_handler(command("mark", mark_command))
    application.add_handler(command("retry", retry_command))
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{PREFIX}"))
    application.add_handler(MessageHandler(NEW_AUDIO, on_audio))
    application.add_handler(MessageHandler(NEW_TEXT, on_text))
