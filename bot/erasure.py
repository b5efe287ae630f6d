"""Erasing one person: every row, scheduled job, conversation state and kept audio file.

Used by /delete (handlers/privacy.py) once the person has confirmed. Rows go in one
transaction (children first, explicitly, so PostgreSQL needs no cascades), then the jobs,
the conversation states and user_data, and the audio kept under data/audio/{user}/; last
the freed space is scrubbed from the database files (storage/db.py's `scrub_deleted`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from sqlalchemy import select
from telegram.ext import ConversationHandler

from bot.context import BetweenApp
from bot.jobs import remove_user_jobs
from bot.voice import AUDIO_DIR
from storage.db import scrub_deleted
from storage.models import Capture
from storage.personal import PersonalDataRepository

logger = logging.getLogger(__name__)


async def erase_everything(application: BetweenApp, user_id: int) -> dict[str, int]:
    """Removes every row, job, conversation state and audio file of one person.

    Args:
        application: the running application.
        user_id: the Telegram user id.

    Returns:
        Rows deleted per table name.
    """
    services = application.bot_data
    assert services.sessionmaker is not None and services.engine is not None
    async with services.sessionmaker() as session, session.begin():
        paths = list(
            await session.scalars(
                select(Capture.audio_path).where(
                    Capture.user_id == user_id, Capture.audio_path.is_not(None)
                )
            )
        )
        counts = await PersonalDataRepository(session).erase(user_id)
    jobs = remove_user_jobs(application.job_queue, user_id)
    conversations = forget_conversations(application, user_id)
    files = await asyncio.to_thread(_remove_audio, user_id, [p for p in paths if p])
    # off the files too: a WAL checkpoint on SQLite, VACUUM FULL + CHECKPOINT on PostgreSQL
    await scrub_deleted(services.engine, list(counts))
    logger.info(
        "user %s deleted everything: %d rows (%s), %d jobs, %d conversations, %d audio files",
        user_id,
        sum(counts.values()),
        ", ".join(f"{name} {n}" for name, n in counts.items()),
        jobs,
        conversations,
        files,
    )
    return counts


def forget_conversations(application: BetweenApp, user_id: int) -> int:
    """Ends every conversation of this person in memory and drops their user_data.

    PTB has no public call for ending one key's conversation; its handlers keep the states in
    `_conversations` (a tracking dict, so persistence is told about the removal too).
    """
    forgotten = 0
    for handlers in application.handlers.values():
        for handler in handlers:
            states = getattr(handler, "_conversations", None)
            if not isinstance(handler, ConversationHandler) or states is None:
                continue
            for key in [k for k in states if user_id in k]:
                states.pop(key, None)
                forgotten += 1
    application.drop_user_data(user_id)
    return forgotten


def _remove_audio(user_id: int, paths: list[str]) -> int:
    removed = 0
    for path in paths:
        try:
            Path(path).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("could not remove an audio file of user %s: %s", user_id, exc.errno)
    folder = AUDIO_DIR / str(user_id)
    if folder.exists():
        removed += sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
    return removed
