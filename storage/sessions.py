"""Therapy sessions: the hour that captures, marks and reflections belong to."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import TherapySession

__all__ = ["SESSION_WINDOW", "SessionRepository", "utcnow"]

SESSION_WINDOW = timedelta(hours=24)


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
        fresh_enough = latest is not None and now - latest.started_at < SESSION_WINDOW
        superseded = (
            latest is not None and therapy_start is not None and latest.started_at < therapy_start
        )
        if latest is not None and fresh_enough and not superseded:
            return latest, False
        fresh = TherapySession(user_id=user_id, started_at=now, local_date=local_today)
        self.session.add(fresh)
        await self.session.flush()
        return fresh, True

    async def recent(self, user_id: int, limit: int = 20) -> list[TherapySession]:
        result = await self.session.scalars(
            select(TherapySession)
            .where(TherapySession.user_id == user_id)
            .order_by(TherapySession.started_at.desc(), TherapySession.id.desc())
            .limit(limit)
        )
        return list(result)
