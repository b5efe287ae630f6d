"""What a printed page of some days is made of: the rows bot/pdf.py lays out.

One read over a span of time (naive UTC, `since` inclusive, `until` exclusive) for one
person: what landed, the other captures and marks, the paragraphs of those days with their
moments, and each recall with how it went. Every query is filtered by `user_id`.

The paragraphs are the ones saved in the span (newest first), then the ones that only came
back in it (most recently recalled first), so the first is the one the weekly digest names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import (
    Capture,
    CaptureKind,
    CaptureStatus,
    Recall,
    Reflection,
    TherapySession,
    Trigger,
)
from storage.reflections import ReflectionRepository

WORDED = (CaptureStatus.TRANSCRIBED, CaptureStatus.SAVED)  # captures that hold words


@dataclass
class PageFacts:
    """The rows of a span, oldest first unless said otherwise."""

    landed: list[Capture] = field(default_factory=list)  # "this is what landed"
    captures: list[Capture] = field(default_factory=list)  # the other words, and marks
    paragraphs: list[Reflection] = field(default_factory=list)  # see the module docstring
    moments: dict[int, list[Trigger]] = field(default_factory=dict)  # by reflection id
    recalls: list[Recall] = field(default_factory=list)
    recalled: dict[int, int] = field(default_factory=dict)  # recall id -> its paragraph's id

    @property
    def empty(self) -> bool:
        return not (self.landed or self.captures or self.paragraphs or self.recalls)


def _within(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    since: datetime,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    """`since <= column < until` (no upper bound without `until`)."""
    conditions = [column >= since]
    if until is not None:
        conditions.append(column < until)
    return conditions


class PageRepository:
    """Reads one person's rows of a span for a page; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def facts(
        self, user_id: int, since: datetime, until: datetime | None = None
    ) -> PageFacts:
        """Everything of `user_id` made in [since, until) that a page shows (no `until`: up
        to now)."""
        rows = await self.session.scalars(
            select(Capture)
            .where(Capture.user_id == user_id, *_within(Capture.created_at, since, until))
            .order_by(Capture.created_at, Capture.id)
        )
        facts = PageFacts()
        for capture in rows:
            worded = capture.status in WORDED and bool((capture.text or "").strip())
            if capture.landed and worded:
                facts.landed.append(capture)
            elif worded or capture.kind == CaptureKind.MARK:
                facts.captures.append(capture)
        recalls = await self.session.scalars(
            select(Recall)
            .where(Recall.user_id == user_id, *_within(Recall.created_at, since, until))
            .order_by(Recall.created_at, Recall.id)
        )
        facts.recalls = list(recalls)

        reflections = ReflectionRepository(self.session)
        saved = await self.session.scalars(
            reflections.saved_query(user_id)
            .where(*_within(Reflection.saved_at, since, until))
            .order_by(TherapySession.started_at.desc(), Reflection.id.desc())
        )
        facts.paragraphs = list(saved)
        seen = {row.id for row in facts.paragraphs}
        found: dict[int, Reflection | None] = {}  # a superseded id leads to the saved version
        for recall in reversed(facts.recalls):
            if recall.reflection_id is None:
                continue
            if recall.reflection_id not in found:
                found[recall.reflection_id] = await reflections.saved(user_id, recall.reflection_id)
            row = found[recall.reflection_id]
            if row is None:
                continue
            facts.recalled[recall.id] = row.id
            if row.id not in seen:
                seen.add(row.id)
                facts.paragraphs.append(row)
        if seen:
            triggers = await self.session.scalars(
                select(Trigger)
                .where(Trigger.user_id == user_id, Trigger.reflection_id.in_(seen))
                .order_by(Trigger.id)
            )
            for trigger in triggers:
                if trigger.reflection_id is not None:
                    facts.moments.setdefault(trigger.reflection_id, []).append(trigger)
        return facts
