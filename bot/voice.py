"""THE voice pipeline: every spoken thing a person sends is heard here, one way.

A capture, a reflection answer, a spoken situation and a spoken "how did it go?" all call
`hear()`, with one set of limits: Telegram's own size and duration are checked before
anything is downloaded (`precheck`), then the file is downloaded, decoded and transcribed in
the engine's pool (bot/transcription.py; with TRANSCRIBE_BACKEND=queue by a worker process,
bot/workqueue.py, running the same `listen`), the audio is kept only when asked, and the
result is typed: `Heard(text, seconds)` or `NotHeard(failure)`. Each `Failure` maps to one
sentence in bot/texts.py (`failure_text`), in the words of the flow that asked.

`hear()` shows "typing…" while it works and never raises for a memo that cannot be heard.
Callers run it off the update loop (a task, or a `block=False` handler), so one person's
memo never holds up anyone else. Logs carry ids, sizes and timings, never what was said.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from telegram import Bot, Message, TelegramObject
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from bot.config import Settings
from bot.context import BetweenApp
from bot.errors import AudioDecodeError, AudioTooLongError, TranscriptionError
from storage.models import CaptureKind

if TYPE_CHECKING:
    from bot.transcription import Transcriber

logger = logging.getLogger(__name__)

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile on api.telegram.org refuses larger files
OFFICIAL_API = "https://api.telegram.org"
DOWNLOAD_TIMEOUT = 120.0  # seconds to read a 20 MB file over a slow link
CHAT_ACTION_EVERY = 4.5  # Telegram shows a chat action for about 5 seconds
AUDIO_DIR = Path("data") / "audio"  # kept audio, on request: data/audio/{user}/{capture}.ogg


class Failure(enum.StrEnum):
    """Why a memo was not heard; the value is the error code stored on a capture row."""

    TOO_LONG = "too_long"
    TOO_BIG = "too_big"
    UNDECODABLE = "undecodable"
    NO_SPEECH = "no_speech"
    DOWNLOAD_FAILED = "download_failed"
    TRANSCRIBE_FAILED = "transcribe_failed"

    @property
    def transient(self) -> bool:
        """True when the same memo may well be heard on another try."""
        return self in (Failure.DOWNLOAD_FAILED, Failure.TRANSCRIBE_FAILED)


TRANSIENT_ERRORS = frozenset(f.value for f in Failure if f.transient)


@dataclass(frozen=True)
class Memo:
    """The audio part of a message, as Telegram describes it (nothing downloaded yet)."""

    kind: CaptureKind
    file_id: str
    file_unique_id: str
    file_size: int | None
    duration: int | None


@dataclass(frozen=True)
class Heard:
    """What a memo said (never empty), how long it was, and where its audio was kept."""

    text: str
    seconds: float
    audio_path: str | None = None


@dataclass(frozen=True)
class NotHeard:
    """A memo that gave no words; a silent one may still have its audio kept."""

    failure: Failure
    seconds: float = 0.0
    audio_path: str | None = None


class Sized(Protocol):
    """Anything that carries Telegram's facts about a file (a Memo, a Capture row)."""

    @property
    def file_size(self) -> int | None: ...

    @property
    def duration(self) -> int | None: ...


def _seconds(item: TelegramObject) -> int | None:
    """Telegram's duration in whole seconds (read without PTB's int/timedelta deprecation)."""
    value = item.to_dict().get("duration")
    return int(value) if isinstance(value, int | float) else None


def memo_of(message: Message) -> Memo | None:
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
            return Memo(kind, item.file_id, item.file_unique_id, item.file_size, _seconds(item))
    return None


def precheck(memo: Sized, settings: Settings) -> Failure | None:
    """Refuses what cannot work from Telegram's own facts, before downloading anything."""
    if memo.duration is not None and memo.duration > settings.max_voice_seconds:
        return Failure.TOO_LONG
    official = settings.telegram_api_base_url == OFFICIAL_API  # a local server has no 20 MB cap
    if official and (memo.file_size or 0) > TELEGRAM_DOWNLOAD_LIMIT:
        return Failure.TOO_BIG
    return None


def audio_path(user_id: int, capture_id: int) -> Path:
    """Where a kept memo goes, without its suffix: data/audio/{user}/{capture}."""
    return AUDIO_DIR / str(user_id) / str(capture_id)


async def hear(
    application: BetweenApp,
    memo: Memo,
    *,
    chat_id: int,
    language: str | None = None,
    keep_as: Path | None = None,
    user_id: int | None = None,
    capture: tuple[int, int] | None = None,
) -> Heard | NotHeard:
    """Checks, downloads and transcribes one memo; never raises for one that can't be heard.

    With TRANSCRIBE_BACKEND=queue the download and transcription happen in a worker process
    (bot/workqueue.py) and this waits for its result, so every flow is the same either way.

    Args:
        application: the running application (bot, settings, transcriber or queue).
        memo: the file as Telegram described it.
        chat_id: where "typing…" is shown while it works.
        language: the person's language; used only when the model is multilingual.
        keep_as: keep the audio at this path (its suffix is added) once it is transcribed;
            None drops it.
        user_id: whose memo it is (default: the chat's id, as in a private chat).
        capture: (capture id, attempt) when the memo is a capture: names its queue job, so
            a worker skips a job whose attempt the bot no longer waits for.

    Returns:
        `Heard` with the words, or `NotHeard` with the reason.
    """
    services = application.bot_data
    refused = precheck(memo, services.settings)
    if refused is not None:
        logger.info("memo refused before download: %s", refused)
        return NotHeard(refused)
    queue = services.transcribe_queue
    transcriber = services.transcriber
    if services.settings.transcribe_backend == "queue":
        if queue is None:  # shutting down
            return NotHeard(Failure.TRANSCRIBE_FAILED)
    elif transcriber is None:  # shutting down
        return NotHeard(Failure.TRANSCRIBE_FAILED)
    acting = asyncio.create_task(_keep_acting(application.bot, chat_id))
    try:
        if queue is not None:
            from bot.workqueue import JobRequest

            request = JobRequest.make(
                user_id if user_id is not None else chat_id,
                memo,
                language=language,
                keep_as=keep_as,
                capture=capture,
            )
            return await queue.hear(request, alive=lambda: application.running)
        assert transcriber is not None
        return await listen(application.bot, transcriber, memo, language=language, keep_as=keep_as)
    finally:
        acting.cancel()


async def listen(
    bot: Bot,
    transcriber: Transcriber,
    memo: Memo,
    *,
    language: str | None = None,
    keep_as: Path | None = None,
) -> Heard | NotHeard:
    """Downloads, transcribes and keeps (if asked) one memo that passed `precheck`.

    The part of `hear` that a queue worker runs too (bot/worker.py), with the same engine.

    Args:
        bot: downloads the file (getFile, then the file URL).
        transcriber: the loaded engine.
        memo: the file as Telegram described it.
        language: the person's language; used only when the model is multilingual.
        keep_as: keep the audio at this path (its suffix is added); None drops it.

    Returns:
        `Heard` with the words, or `NotHeard` with the reason.
    """
    data, suffix, failed = await _download(bot, memo.file_id)
    if data is None:
        return NotHeard(failed or Failure.DOWNLOAD_FAILED)
    try:
        transcript = await transcriber.transcribe(
            data, language=language if transcriber.multilingual else None
        )
    except AudioTooLongError:
        return NotHeard(Failure.TOO_LONG)
    except AudioDecodeError:
        logger.info("memo undecodable (%d bytes)", len(data))
        return NotHeard(Failure.UNDECODABLE)
    except TranscriptionError:
        logger.exception("transcription failed (%d bytes)", len(data))
        return NotHeard(Failure.TRANSCRIBE_FAILED)
    kept = None
    if keep_as is not None:
        if memo.kind == CaptureKind.VOICE or not suffix:
            suffix = ".ogg"
        kept = await _keep_audio(keep_as.with_name(keep_as.name + suffix), data)
    text = transcript.text.strip()
    if not text:
        return NotHeard(Failure.NO_SPEECH, transcript.audio_seconds, kept)
    return Heard(text, transcript.audio_seconds, kept)


def ready(application: BetweenApp) -> bool:
    """True while memos can be heard (the engine or the queue is open: not shutting down)."""
    services = application.bot_data
    if services.settings.transcribe_backend == "queue":
        return services.transcribe_queue is not None
    return services.transcriber is not None


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:.0f}" if seconds % 60 == 0 else f"{seconds / 60:.1f}"


def failure_text(
    failure: Failure | str | None,
    wording: Mapping[str, str],
    *,
    max_seconds: int,
    duration: int | None = None,
) -> str:
    """The one sentence a flow says for a memo it could not hear.

    Args:
        failure: the reason (or an error code stored on a row; unknown ones read as
            a failed transcription).
        wording: the flow's sentences by failure (texts.CAPTURE_NOT_HEARD, ...).
        max_seconds: the longest memo transcribed (MAX_VOICE_SECONDS).
        duration: the memo's length in seconds, when Telegram said.
    """
    sentence = wording.get(str(failure or ""), wording[Failure.TRANSCRIBE_FAILED])
    return sentence.format(
        minutes=_minutes(duration) if duration else f"over {_minutes(max_seconds)}",
        limit=_minutes(max_seconds),
        whole_minutes=max(1, max_seconds // 60),
    )


async def _keep_acting(bot: Bot, chat_id: int) -> None:
    """Shows "typing…" until cancelled (Telegram clears a chat action after ~5 s)."""
    while True:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            logger.debug("chat action failed in chat %s: %s", chat_id, type(exc).__name__)
            return
        await asyncio.sleep(CHAT_ACTION_EVERY)


async def _download(bot: Bot, file_id: str) -> tuple[bytes | None, str, Failure | None]:
    """Fetches the file into memory. Returns (bytes or None, file suffix, failure)."""
    try:
        file = await bot.get_file(file_id)
        data = await file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT)
    except BadRequest as exc:
        too_big = "too big" in exc.message.lower()
        logger.info("getFile refused file: %s", "too big" if too_big else type(exc).__name__)
        return None, "", Failure.TOO_BIG if too_big else Failure.DOWNLOAD_FAILED
    except (TelegramError, OSError) as exc:
        logger.warning("download failed: %s", type(exc).__name__)
        return None, "", Failure.DOWNLOAD_FAILED
    return bytes(data), Path(file.file_path or "").suffix, None


async def _keep_audio(path: Path, data: bytes) -> str | None:
    """Writes the audio to `path`; returns the path (None on failure)."""

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    try:
        await asyncio.to_thread(write)
    except OSError as exc:
        logger.warning("could not keep audio %s: %s", path.name, type(exc).__name__)
        return None
    return str(path)
