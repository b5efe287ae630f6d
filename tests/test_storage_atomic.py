"""Storage under concurrency and across databases: one row per person and per session, UTC.

Every test runs on the `database_url` fixture (a fresh SQLite file, or a fresh PostgreSQL
database when BETWEEN_TEST_DATABASE_URL is set), so the same checks hold on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import (
    User,
)
from storage.users import UserRepository

N = 10


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


def _close_to_now(value: datetime | None) -> bool:
    now = datetime.now(UTC).replace(tzinfo=None)
    return value is not None and abs(now - value) < timedelta(minutes=1)


# --------------------------------------------------------------------------- one row each


async def test_concurrent_first_contacts_create_one_user_row(engine: AsyncEngine) -> None:
    db = create_sessionmaker(engine)
    start = asyncio.Barrier(N)

    async def first_contact(chat_id: int) -> User:
        async with db() as s, s.begin():
            await _connected(s, start)
            return await UserRepository(s).get_or_create(42, chat_id, "Europe/Berlin")

    users = await asyncio.gather(*(first_contact(42) for _ in range(N)))
    assert {u.id for u in users} == {42}
    assert all(u.timezone == "Europe/Berlin" and u.chat_id == 42 for u in users)
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1
    # the chat id still follows the person when it changes
    async with db() as s, s.begin():
        moved = await UserRepository(s).get_or_create(42, 4242, "UTC")
        assert (moved.chat_id, moved.timezone) == (4242, "Europe/Berlin")
    async with db() as s:
        stored = await s.get(User, 42)
        assert stored is not None and stored.chat_id == 4242


async def _connected(session: AsyncSession, start: asyncio.Barrier) -> None:
    """Opens this session's own connection, then waits until all N have one: a real race."""
    await session.execute(text("SELECT 1"))
    await start.wait()
