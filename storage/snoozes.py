"""Snoozes: a ping or evening prompt the person asked to see again later.

One pending snooze per ping trigger and one per person for the evening prompt: snoozing the
same thing again replaces the earlier row (a double tap, or "1 h" after "20 min", still
brings it back once). A snooze is claimed by deleting its row before it is sent, so two
jobs racing for it (or a job and a restart) send it once. Every query is filtered by
`user_id`; rows go with their trigger or person (foreign keys cascade).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Snooze, SnoozeKind


class SnoozeRepository:
    """Reads and writes `snoozes` for one person at a time; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(
        self, user_id: int, kind: SnoozeKind, trigger_id: int | None, due_at: datetime
    ) -> Snooze:
        """Stores the snooze due at `due_at` (naive UTC), replacing a pending one of the same
        ping (trigger) or, for the evening prompt, the person's pending evening snooze."""
        same = Snooze.trigger_id == trigger_id if trigger_id is not None else Snooze.kind == kind
        await self.session.execute(
            delete(Snooze)
            .where(Snooze.user_id == user_id, Snooze.kind == kind, same)
            .execution_options(synchronize_session=False)
        )
        row = Snooze(user_id=user_id, kind=kind, trigger_id=trigger_id, due_at=due_at)
        self.session.add(row)
        await self.session.flush()
        return row

    async def pending(self, user_id: int) -> list[Snooze]:
        """The person's snoozes still to be sent, soonest first."""
        result = await self.session.scalars(
            select(Snooze).where(Snooze.user_id == user_id).order_by(Snooze.due_at, Snooze.id)
        )
        return list(result)

    async def get(self, user_id: int, snooze_id: int) -> Snooze | None:
        return await self.session.scalar(
            select(Snooze).where(Snooze.user_id == user_id, Snooze.id == snooze_id)
        )

    async def claim(self, user_id: int, snooze_id: int) -> Snooze | None:
        """Takes the snooze for sending: deletes its row and returns what it was, or None
        when it is gone (sent by another job, replaced, or its trigger or person deleted)."""
        row = await self.get(user_id, snooze_id)
        if row is None:
            return None
        result = await self.session.execute(
            delete(Snooze)
            .where(Snooze.user_id == user_id, Snooze.id == snooze_id)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(result) != 1:
            return None
        self.session.expunge(row)
        return row

    async def drop(self, user_id: int, snooze_id: int) -> bool:
        """Deletes one snooze without sending it (too late); True if it was there."""
        result = await self.session.execute(
            delete(Snooze)
            .where(Snooze.user_id == user_id, Snooze.id == snooze_id)
            .execution_options(synchronize_session=False)
        )
        return rows_changed(result) == 1
