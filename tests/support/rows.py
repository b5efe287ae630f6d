"""Rows written straight into the database, and reading them back, for the tests.

Rows are written straight into the database the way the reflection flow leaves them
(a therapy session and a saved reflection: answer_what is the headline).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.trigger import apply_situation
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import (
    Capture,
    CaptureKind,
    CaptureStatus,
    Recall,
    Reflection,
    ReflectionStatus,
    TherapySession,
    Trigger,
    TriggerKind,
    User,
)
from storage.sessions import utcnow
from storage.triggers import TriggerRepository
from tests.support.databases import url_of
from tests.support.eventually import eventually

Db = async_sessionmaker[AsyncSession]


def db_of(app) -> Db:  # type: ignore[no-untyped-def]
    assert app.bot_data.sessionmaker is not None
    return app.bot_data.sessionmaker


async def open_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The test's database (conftest's `database_url`, the one make_settings points the bot
    at), found by the test's tmp_path, migrated."""
    engine = create_engine(url_of(tmp_path))
    await migrate(engine)
    return engine, create_sessionmaker(engine)


async def add_user(db: Db, user_id: int, *, tz: str = "Europe/Berlin", **fields: object) -> None:
    """An onboarded person (chat id = user id) in time zone `tz`."""
    async with db() as s, s.begin():
        row = await s.get(User, user_id)
        if row is None:
            row = User(id=user_id, chat_id=user_id, timezone=tz, onboarded=True)
            s.add(row)
        row.timezone = tz
        row.onboarded = True
        for name, value in fields.items():
            setattr(row, name, value)


async def add_reflection(
    db: Db,
    user_id: int,
    what: str,
    why: str = "It matters for how I live.",
    do: str = "I do one thing differently.",
    *,
    days_ago: float = 0,
    paragraph: str | None = None,
    landed: str | None = None,
) -> int:
    """A therapy session `days_ago` with a saved reflection (and a landed capture); its id."""
    started = utcnow() - timedelta(days=days_ago, hours=3)
    async with db() as s, s.begin():
        session = TherapySession(user_id=user_id, started_at=started, local_date=started.date())
        s.add(session)
        await s.flush()
        if landed:
            s.add(
                Capture(
                    user_id=user_id,
                    session_id=session.id,
                    kind=CaptureKind.TEXT,
                    status=CaptureStatus.SAVED,
                    text=landed,
                    landed=True,
                    chat_id=user_id,
                    created_at=started + timedelta(hours=1),
                )
            )
        reflection = Reflection(
            user_id=user_id,
            session_id=session.id,
            version=1,
            status=ReflectionStatus.SAVED,
            step=4,
            answer_what=what,
            answer_why=why,
            answer_do=do,
            paragraph=paragraph or f"{what} {why} {do}",
            saved_at=started + timedelta(hours=2),
        )
        s.add(reflection)
        await s.flush()
        return reflection.id


async def add_situation(db: Db, user_id: int, reflection_id: int, cue: str) -> int:
    async with db() as s, s.begin():
        row = await TriggerRepository(s).add(user_id, reflection_id, TriggerKind.SITUATION)
        apply_situation(row, cue)
        await s.flush()
        return row.id


async def triggers_of(db: Db, user_id: int) -> list[Trigger]:
    async with db() as s:
        rows = await s.scalars(
            select(Trigger).where(Trigger.user_id == user_id).order_by(Trigger.id)
        )
        return list(rows)


async def recalls_of(db: Db, user_id: int) -> list[Recall]:
    async with db() as s:
        rows = await s.scalars(select(Recall).where(Recall.user_id == user_id).order_by(Recall.id))
        return list(rows)


async def settled(check, within: float = 5.0):  # type: ignore[no-untyped-def]
    """Awaits `check()` until it returns something truthy (a row written after a send).

    Returns that value (or the last falsy one): `eventually` with the value kept.
    """
    found = None

    async def holds() -> bool:
        nonlocal found
        found = await check()
        return bool(found)

    await eventually(holds, within=within)
    return found


def local_day(moment: datetime, tz) -> date:  # type: ignore[no-untyped-def]
    return moment.replace(tzinfo=UTC).astimezone(tz).date()


async def captures(app, user_id: int) -> list[Capture]:
    async with app.bot_data.sessionmaker() as s:
        return list(
            await s.scalars(select(Capture).where(Capture.user_id == user_id).order_by(Capture.id))
        )


async def sessions(app, user_id: int) -> list[TherapySession]:
    async with app.bot_data.sessionmaker() as s:
        result = await s.scalars(
            select(TherapySession)
            .where(TherapySession.user_id == user_id)
            .order_by(TherapySession.id)
        )
        return list(result)


async def user_of(app, user_id: int) -> User | None:  # type: ignore[no-untyped-def]
    """The person's row as the bot left it (None before they wrote)."""
    async with app.bot_data.sessionmaker() as s:
        return await s.get(User, user_id)


async def reflections_of(app, user_id: int) -> list[Reflection]:  # type: ignore[no-untyped-def]
    async with app.bot_data.sessionmaker() as s:
        rows = await s.scalars(
            select(Reflection).where(Reflection.user_id == user_id).order_by(Reflection.id)
        )
        return list(rows)
