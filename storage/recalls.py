"""Recalls: each time a paragraph came back, and what the person said about how it went.

Also the read side of saved reflections that /recall browses (newest session first) and
the facts the weekly digest is made of. Every query is filtered by `user_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import (
    Capture,
    Recall,
    RecallSource,
    Reflection,
    TherapySession,
    User,
)
from storage.reflections import ReflectionRepository


@dataclass
class DigestFacts:
    """What happened since the last session, for the digest."""

    landed: list[str] = field(default_factory=list)
    reflection: Reflection | None = None
    recalls: list[Recall] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.landed or self.reflection or self.recalls)


class RecallRepository:
    """Reads and writes `recalls` (and reads saved reflections) for one person at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ recalls

    async def add(
        self,
        user_id: int,
        reflection_id: int | None,
        source: RecallSource,
        trigger_id: int | None = None,
        followup_due_at: datetime | None = None,
    ) -> Recall:
        """Adds one recall (the caller drops earlier pending follow-ups if it asks one)."""
        recall = Recall(
            user_id=user_id,
            reflection_id=reflection_id,
            source=source,
            trigger_id=trigger_id,
            followup_due_at=followup_due_at,
        )
        self.session.add(recall)
        await self.session.flush()
        return recall

    async def get(self, user_id: int, recall_id: int) -> Recall | None:
        return await self.session.scalar(
            select(Recall).where(Recall.user_id == user_id, Recall.id == recall_id)
        )

    async def by_message(self, user_id: int, message_id: int) -> Recall | None:
        """The recall whose card, ping or follow-up question is this bot message."""
        return await self.session.scalar(
            select(Recall)
            .where(
                Recall.user_id == user_id,
                (Recall.followup_message_id == message_id) | (Recall.message_id == message_id),
            )
            .order_by(Recall.id.desc())
            .limit(1)
        )

    async def pending_followups(self, user_id: int) -> list[Recall]:
        """Recalls whose follow-up question is still to be asked."""
        result = await self.session.scalars(
            select(Recall)
            .where(
                Recall.user_id == user_id,
                Recall.followup_due_at.is_not(None),
                Recall.followup_sent_at.is_(None),
                Recall.answered_at.is_(None),
            )
            .order_by(Recall.id)
        )
        return list(result)

    async def drop_pending_followups(self, user_id: int) -> list[int]:
        """Cancels every unsent follow-up (a newer recall asks instead); returns their ids."""
        pending = await self.pending_followups(user_id)
        for recall in pending:
            recall.followup_due_at = None
        return [recall.id for recall in pending]

    async def claim_followup(self, user_id: int, recall_id: int, now: datetime) -> bool:
        """Marks the follow-up as sent before sending it; False if it was sent or cancelled."""
        result = await self.session.execute(
            update(Recall)
            .where(
                Recall.user_id == user_id,
                Recall.id == recall_id,
                Recall.followup_due_at.is_not(None),
                Recall.followup_sent_at.is_(None),
                Recall.answered_at.is_(None),
            )
            .values(followup_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return rows_changed(result) == 1

    async def since(self, user_id: int, since: datetime) -> list[Recall]:
        """Recalls made at or after `since`, oldest first."""
        result = await self.session.scalars(
            select(Recall)
            .where(Recall.user_id == user_id, Recall.created_at >= since)
            .order_by(Recall.created_at, Recall.id)
        )
        return list(result)

    # ------------------------------------------------------------------ digest

    async def claim_digest(self, user_id: int, day: date) -> bool:
        """Marks the digest of `day` as sent before sending it; False if it already was."""
        result = await self.session.execute(
            update(User)
            .where(
                User.id == user_id,
                (User.last_digest_on.is_(None)) | (User.last_digest_on < day),
            )
            .values(last_digest_on=day)
            .execution_options(synchronize_session=False)
        )
        return rows_changed(result) == 1

    async def digest_facts(self, user_id: int, since: datetime) -> DigestFacts:
        """What landed, the paragraph and the recalls since `since` (naive UTC).

        The paragraph is the one saved for a session since then, else the one recalled most
        recently in that time.
        """
        landed = await self.session.scalars(
            select(Capture)
            .where(
                Capture.user_id == user_id,
                Capture.landed.is_(True),
                Capture.text.is_not(None),
                Capture.created_at >= since,
            )
            .order_by(Capture.created_at.desc(), Capture.id.desc())
            .limit(2)
        )
        facts = DigestFacts(landed=[c.text for c in landed if c.text])
        facts.recalls = await self.since(user_id, since)
        paragraphs = ReflectionRepository(self.session)
        facts.reflection = await self.session.scalar(
            paragraphs.saved_query(user_id)
            .where(Reflection.saved_at >= since)
            .order_by(TherapySession.started_at.desc(), Reflection.id.desc())
            .limit(1)
        )
        if facts.reflection is None:
            for recall in reversed(facts.recalls):
                if recall.reflection_id is not None:
                    facts.reflection = await paragraphs.saved(user_id, recall.reflection_id)
                    if facts.reflection is not None:
                        break
        return facts
