"""Therapy sessions: the hour that captures, marks and reflections belong to."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.db import insert_unless_present
from storage.models import TherapySession

__all__ = ["SESSION_WINDOW", "SessionRepository", "session_slot", "utcnow"]

SESSION_WINDOW = timedelta(hours=24)


def session_slot(now: datetime, local_today: date, therapy_start: datetime | None) -> str:
    """What a session opened now belongs to: its therapy hour, else the person's local day.

    "therapy:<UTC start>" while the latest therapy hour began less than SESSION_WINDOW ago,
    else "day:<local date>". Captures arriving at once compute the same slot, and the slot
    is unique per person, so they share one session.
    """
    if therapy_start is not None and now - therapy_start < SESSION_WINDOW:
        return f"therapy:{therapy_start.isoformat()}"
    return f"day:{local_today.isoformat()}"


def _takes(session: TherapySession | None, now: datetime, therapy_start: datetime | None) -> bool:
    """Whether what is said now still belongs to this session (the 24 h and therapy rules)."""
    return (
        session is not None
        and now - session.started_at < SESSION_WINDOW
        and not (therapy_start is not None and session.started_at < therapy_start)
    )


class SessionRepository:
    """Reads and writes `therapy_sessions` for one person at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, user_id: int) -> TherapySession | None:
        return await self.session.scalar(
            select(TherapySession)
            .where(TherapySession.user_id == user_id)
            .order_by(TherapySession.started_at.desc(), TherapySession.id.desc())
            .limit(1)
        )

    async def get(self, user_id: int, session_id: int) -> TherapySession | None:
        return await self.session.scalar(
            select(TherapySession).where(
                TherapySession.user_id == user_id, TherapySession.id == session_id
            )
        )

    async def current_or_new(
        self,
        user_id: int,
        now: datetime,
        local_today: date,
        therapy_start: datetime | None = None,
    ) -> tuple[TherapySession, bool]:
        """The session that began within the last 24 h, else a new one dated today.

        Atomic: calls racing for one person (several memos sent at once) insert the new
        session only if its slot (`session_slot`) is free, then read the row holding it, so
        they all get one session and exactly one of them reports it created.

        Args:
            user_id: the person.
            now: naive UTC now.
            local_today: today's date in the person's time zone.
            therapy_start: naive UTC start of their latest scheduled therapy hour, if they set
                one: a session opened before it (Monday evening's note) does not take what is
                said in or after Tuesday's hour.

        Returns:
            (session, created): created is True when a new session row was added.
        """
        latest = await self.latest(user_id)
        if _takes(latest, now, therapy_start):
            assert latest is not None
            return latest, False
        base = slot = session_slot(now, local_today, therapy_start)
        while True:
            row, created = await self.claim(user_id, slot, now, local_today)
            if created or _takes(row, now, therapy_start):
                return row, created
            # An older session holds this slot and must not take what is said now. A therapy
            # slot cannot be stale (it is used only within 24 h of its hour, and its session
            # began after that hour), but a local day can outlast 24 h (a move to a zone
            # further west, a DST day): open the next slot after it, as deterministically.
            slot = f"{base}/after:{row.id}"

    async def claim(
        self, user_id: int, slot: str, now: datetime, local_today: date
    ) -> tuple[TherapySession, bool]:
        """Inserts the session for this slot unless one exists; returns it and whether new.

        Args:
            user_id: the person.
            slot: what the session belongs to (`session_slot`); unique per person.
            now: naive UTC start of the session, if it is new.
            local_today: its local date, if it is new.
        """
        inserted = await self.session.scalar(
            insert_unless_present(
                self.session,
                TherapySession,
                ["user_id", "slot"],
                user_id=user_id,
                started_at=now,
                local_date=local_today,
                slot=slot,
            ).returning(TherapySession.id)
        )
        row = await self.session.scalar(
            select(TherapySession).where(
                TherapySession.user_id == user_id, TherapySession.slot == slot
            )
        )
        assert row is not None  # inserted now, or by whoever won the race (committed)
        return row, inserted is not None

    async def recent(self, user_id: int, limit: int = 20) -> list[TherapySession]:
        result = await self.session.scalars(
            select(TherapySession)
            .where(TherapySession.user_id == user_id)
            .order_by(TherapySession.started_at.desc(), TherapySession.id.desc())
            .limit(limit)
        )
        return list(result)
