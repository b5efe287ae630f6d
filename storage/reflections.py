"""Reflections: the evening's three answers and the paragraph, versioned per therapy session.

A draft row is written as the answers come (nothing typed is lost, even without PTB
persistence). Saving turns the draft into the session's saved version; a saved one that
existed before is kept as `superseded`, and the session's triggers move to the new version.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Reflection,
    ReflectionStatus,
    TherapySession,
    Trigger,
)
from storage.sessions import SessionRepository, session_slot

QUESTIONS = 3
REVIEW_STEP = QUESTIONS + 1  # `step` after the last question: the paragraph is being reviewed
ANSWER_FIELDS = ("answer_what", "answer_why", "answer_do")


def get_answer(reflection: Reflection, step: int) -> str | None:
    """The answer to question `step` (1-3)."""
    answer = getattr(reflection, ANSWER_FIELDS[step - 1])
    return answer if isinstance(answer, str) else None


def set_answer(reflection: Reflection, step: int, text: str | None) -> None:
    """Stores the answer to question `step` (1-3); None leaves the question out."""
    setattr(reflection, ANSWER_FIELDS[step - 1], text)


def answers(reflection: Reflection) -> tuple[str | None, str | None, str | None]:
    return reflection.answer_what, reflection.answer_why, reflection.answer_do


class ReflectionRepository:
    """Reads and writes `reflections` (and finds their session) for one person at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int, reflection_id: int) -> Reflection | None:
        return await self.session.scalar(
            select(Reflection).where(Reflection.user_id == user_id, Reflection.id == reflection_id)
        )

    async def session_to_reflect(
        self, user_id: int, now: datetime, today: date, last_therapy: tuple[date, datetime] | None
    ) -> TherapySession:
        """The session the person reflects on: their latest, or a new one if none fits.

        The latest session is used unless the person's most recent therapy day came after it
        (nothing was captured that day): then a session for that therapy day is created.

        Args:
            user_id: the person.
            now: naive UTC now (the new session's start without a therapy day).
            today: the person's local date.
            last_therapy: the local date and naive UTC start of their most recent therapy
                session by its weekday and time, or None without a fixed therapy day.
        """
        latest = await self.session.scalar(
            select(TherapySession)
            .where(TherapySession.user_id == user_id)
            .order_by(TherapySession.started_at.desc(), TherapySession.id.desc())
            .limit(1)
        )
        if latest is not None and (last_therapy is None or latest.local_date >= last_therapy[0]):
            return latest
        day, started_at = last_therapy if last_therapy is not None else (today, now)
        # the same slot a capture in that hour (or on that day) would claim: atomic, shared
        slot = session_slot(started_at, day, started_at if last_therapy is not None else None)
        fresh, _ = await SessionRepository(self.session).claim(user_id, slot, started_at, day)
        return fresh

    async def draft_for(self, user_id: int, session_id: int) -> Reflection | None:
        """The unfinished draft for one session, if the person started one."""
        return await self.session.scalar(
            select(Reflection)
            .where(
                Reflection.user_id == user_id,
                Reflection.session_id == session_id,
                Reflection.status == ReflectionStatus.DRAFT,
            )
            .order_by(Reflection.id.desc())
            .limit(1)
        )

    async def latest_draft(self, user_id: int) -> Reflection | None:
        """The person's most recently started unfinished draft."""
        return await self.session.scalar(
            select(Reflection)
            .where(Reflection.user_id == user_id, Reflection.status == ReflectionStatus.DRAFT)
            .order_by(Reflection.id.desc())
            .limit(1)
        )

    async def saved_for(self, user_id: int, session_id: int) -> Reflection | None:
        """The current saved version for one session."""
        return await self.session.scalar(
            select(Reflection)
            .where(
                Reflection.user_id == user_id,
                Reflection.session_id == session_id,
                Reflection.status == ReflectionStatus.SAVED,
            )
            .order_by(Reflection.version.desc())
            .limit(1)
        )

    async def saved_between(self, user_id: int, first: date, last: date) -> Reflection | None:
        """A saved reflection for a session dated `first`..`last` (local dates), if any."""
        return await self.session.scalar(
            select(Reflection)
            .join(TherapySession, TherapySession.id == Reflection.session_id)
            .where(
                Reflection.user_id == user_id,
                TherapySession.user_id == user_id,
                Reflection.status == ReflectionStatus.SAVED,
                TherapySession.local_date >= first,
                TherapySession.local_date <= last,
            )
            .limit(1)
        )

    async def versions(self, user_id: int, session_id: int) -> list[Reflection]:
        """Every saved and superseded version for one session, oldest first."""
        result = await self.session.scalars(
            select(Reflection)
            .where(
                Reflection.user_id == user_id,
                Reflection.session_id == session_id,
                Reflection.status != ReflectionStatus.DRAFT,
            )
            .order_by(Reflection.version)
        )
        return list(result)

    async def start_draft(self, user_id: int, session_id: int) -> Reflection:
        """Creates an empty draft at question 1."""
        draft = Reflection(
            user_id=user_id,
            session_id=session_id,
            status=ReflectionStatus.DRAFT,
            step=1,
            version=0,  # the real version is given on save
        )
        self.session.add(draft)
        await self.session.flush()
        return draft

    async def save(self, user_id: int, draft: Reflection, paragraph: str, now: datetime) -> None:
        """Makes the draft the session's saved version; keeps an earlier one as superseded.

        Args:
            user_id: the person (the draft must be theirs).
            draft: the draft row, loaded in this session.
            paragraph: the paragraph as the person confirmed it.
            now: naive UTC now.
        """
        assert draft.user_id == user_id
        previous = await self.saved_for(user_id, draft.session_id)
        highest = await self.session.scalar(
            select(func.max(Reflection.version)).where(
                Reflection.user_id == user_id, Reflection.session_id == draft.session_id
            )
        )
        if previous is not None and previous.id != draft.id:
            previous.status = ReflectionStatus.SUPERSEDED
            # the moments picked for this session now bring back the new version
            await self.session.execute(
                update(Trigger)
                .where(Trigger.user_id == user_id, Trigger.reflection_id == previous.id)
                .values(reflection_id=draft.id)
            )
        draft.version = (highest or 0) + 1
        draft.status = ReflectionStatus.SAVED
        draft.paragraph = paragraph
        draft.step = REVIEW_STEP
        draft.saved_at = now
        await self.session.flush()

    # ------------------------------------------------------- saved paragraphs

    def saved_query(self, user_id: int) -> Select[Reflection]:
        """Every saved paragraph of the person (a query to narrow and order)."""
        return (
            select(Reflection)
            .join(TherapySession, TherapySession.id == Reflection.session_id)
            .where(
                Reflection.user_id == user_id,
                TherapySession.user_id == user_id,
                Reflection.status == ReflectionStatus.SAVED,
            )
        )

    async def latest_saved(self, user_id: int) -> Reflection | None:
        """The saved paragraph of the most recent session."""
        return await self.session.scalar(
            self.saved_query(user_id)
            .order_by(TherapySession.started_at.desc(), Reflection.id.desc())
            .limit(1)
        )

    async def saved(self, user_id: int, reflection_id: int) -> Reflection | None:
        """A saved paragraph by id; a superseded id leads to its session's saved version."""
        row = await self.session.scalar(
            select(Reflection).where(Reflection.user_id == user_id, Reflection.id == reflection_id)
        )
        if row is None or row.status == ReflectionStatus.SAVED:
            return row
        if row.status == ReflectionStatus.DRAFT:
            return None
        return await self.session.scalar(
            self.saved_query(user_id)
            .where(Reflection.session_id == row.session_id)
            .order_by(Reflection.version.desc())
            .limit(1)
        )

    async def neighbours(
        self, user_id: int, reflection: Reflection
    ) -> tuple[int | None, int | None]:
        """The saved paragraphs of the sessions before and after this one: (older, newer)."""
        started = await self.session.scalar(
            select(TherapySession.started_at).where(
                TherapySession.user_id == user_id, TherapySession.id == reflection.session_id
            )
        )
        if started is None:
            return None, None
        key = (TherapySession.started_at, Reflection.id)
        older = await self.session.scalar(
            self.saved_query(user_id)
            .where((key[0] < started) | ((key[0] == started) & (key[1] < reflection.id)))
            .order_by(key[0].desc(), key[1].desc())
            .limit(1)
        )
        newer = await self.session.scalar(
            self.saved_query(user_id)
            .where((key[0] > started) | ((key[0] == started) & (key[1] > reflection.id)))
            .order_by(key[0], key[1])
            .limit(1)
        )
        return (older.id if older else None), (newer.id if newer else None)
