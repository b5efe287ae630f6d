"""What queue workers heard, until the bot takes it (TRANSCRIBE_BACKEND=queue).

A worker writes one row per job key with `write_first` (`INSERT ... ON CONFLICT DO
NOTHING`): a job delivered twice (its worker was killed after writing, before the queue
heard it finished) leaves the first result standing. The bot's one poller takes the rows
of the keys it waits for (`take`: read and deleted in one transaction), and `sweep`
deletes rows nobody came for, so text does not linger. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.db import insert_unless_present, rows_changed
from storage.models import TranscriptResult


class TranscriptResultRepository:
    """Writes, takes and sweeps transcript results; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def write_first(
        self,
        key: str,
        user_id: int,
        *,
        text: str | None,
        failure: str | None,
        seconds: float,
        audio_path: str | None = None,
    ) -> bool:
        """Stores the result of job `key` unless one is stored already.

        Args:
            key: the job's key (one per memo and attempt).
            user_id: the owner (a person deleted meanwhile fails the foreign key).
            text: what was heard; None when nothing was.
            failure: the bot.voice.Failure code when nothing was heard.
            seconds: the audio's length.
            audio_path: where the audio was kept, when asked.

        Returns:
            True when this call wrote the row (the first write), False when one was there.
        """
        statement = insert_unless_present(
            self.session,
            TranscriptResult,
            ["key"],
            key=key,
            user_id=user_id,
            text=text,
            failure=failure,
            seconds=seconds,
            audio_path=audio_path,
            created_at=utcnow(),
        ).returning(TranscriptResult.key)
        return (await self.session.execute(statement)).first() is not None

    async def exists(self, key: str) -> bool:
        """True when job `key` has a result waiting."""
        found = await self.session.scalar(
            select(TranscriptResult.key).where(TranscriptResult.key == key)
        )
        return found is not None

    async def take(self, keys: Collection[str]) -> list[TranscriptResult]:
        """The results of these keys that are there, deleted as they are read."""
        if not keys:
            return []
        rows = list(
            await self.session.scalars(
                select(TranscriptResult).where(TranscriptResult.key.in_(list(keys)))
            )
        )
        if rows:
            await self.session.execute(
                delete(TranscriptResult).where(TranscriptResult.key.in_([row.key for row in rows]))
            )
        return rows

    async def sweep(self, older_than: datetime) -> int:
        """Deletes results written before `older_than` that nobody took; returns how many."""
        result = await self.session.execute(
            delete(TranscriptResult).where(TranscriptResult.created_at < older_than)
        )
        return rows_changed(result)
