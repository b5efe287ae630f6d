"""Triggers: the moments a person pre-decided for their paragraph to come back.

A time trigger carries its recurrence and the next instant it is due (`next_fire_at`, naive
UTC); jobs are derived from these rows. A situation trigger carries only its cue and the
keywords `/recall` searches. Firing is recorded with a compare-and-set on `next_fire_at`, so
two racing jobs (or a job and a restart) can never both send the same ping.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Trigger, TriggerKind, TriggerStatus


class TriggerRepository:
    """Reads and writes `triggers` for one person at a time; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int, trigger_id: int) -> Trigger | None:
        return await self.session.scalar(
            select(Trigger).where(Trigger.user_id == user_id, Trigger.id == trigger_id)
        )

    async def add(self, user_id: int, reflection_id: int | None, kind: TriggerKind) -> Trigger:
        """Adds an active trigger of `kind`; the caller fills in the time or the cue."""
        trigger = Trigger(
            user_id=user_id,
            reflection_id=reflection_id,
            kind=kind,
            status=TriggerStatus.ACTIVE,
            fire_count=0,
            missed_count=0,
        )
        self.session.add(trigger)
        return trigger

    async def listed(self, user_id: int) -> list[Trigger]:
        """Active and paused triggers (what /triggers shows), oldest first."""
        result = await self.session.scalars(
            select(Trigger)
            .where(
                Trigger.user_id == user_id,
                Trigger.status.in_((TriggerStatus.ACTIVE, TriggerStatus.PAUSED)),
            )
            .order_by(Trigger.id)
        )
        return list(result)

    async def for_reflection(self, user_id: int, reflection_id: int) -> list[Trigger]:
        """The active and paused triggers of one paragraph, oldest first."""
        result = await self.session.scalars(
            select(Trigger)
            .where(
                Trigger.user_id == user_id,
                Trigger.reflection_id == reflection_id,
                Trigger.status != TriggerStatus.DONE,
            )
            .order_by(Trigger.id)
        )
        return list(result)

    async def every(self, user_id: int) -> list[Trigger]:
        """All of one person's triggers, whatever their kind and status, oldest first."""
        result = await self.session.scalars(
            select(Trigger).where(Trigger.user_id == user_id).order_by(Trigger.id)
        )
        return list(result)

    async def active_time(self, user_id: int) -> list[Trigger]:
        """Active time triggers: the ones that need a job."""
        result = await self.session.scalars(
            select(Trigger)
            .where(
                Trigger.user_id == user_id,
                Trigger.kind == TriggerKind.TIME,
                Trigger.status == TriggerStatus.ACTIVE,
            )
            .order_by(Trigger.id)
        )
        return list(result)

    async def record_firing(
        self,
        user_id: int,
        trigger_id: int,
        expected: datetime,
        next_fire_at: datetime | None,
        now: datetime,
        *,
        missed: bool = False,
    ) -> bool:
        """Marks one due firing as taken (sent or missed) and advances the trigger.

        A compare-and-set: only succeeds while `next_fire_at` still equals `expected` and the
        trigger is active, so the same due instant is never taken twice.

        Args:
            user_id: the owner.
            trigger_id: the trigger.
            expected: the `next_fire_at` the caller read (naive UTC).
            next_fire_at: the following instant, or None when a one-off is spent (-> done).
            now: naive UTC now.
            missed: count it as missed (the bot was down too long) instead of fired.

        Returns:
            True if this caller took the firing.
        """
        values: dict[str, object] = {"next_fire_at": next_fire_at}
        if next_fire_at is None:
            values["status"] = TriggerStatus.DONE
        if missed:
            values["missed_count"] = Trigger.missed_count + 1
        else:
            values["fire_count"] = Trigger.fire_count + 1
            values["last_fired_at"] = now
        result = await self.session.execute(
            update(Trigger)
            .where(
                Trigger.user_id == user_id,
                Trigger.id == trigger_id,
                Trigger.status == TriggerStatus.ACTIVE,
                Trigger.next_fire_at == expected,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return rows_changed(result) == 1

    async def delete(self, user_id: int, trigger_id: int) -> bool:
        """Deletes one trigger; True if it existed."""
        result = await self.session.execute(
            delete(Trigger).where(Trigger.user_id == user_id, Trigger.id == trigger_id)
        )
        return rows_changed(result) == 1
