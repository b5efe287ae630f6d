"""storage/sqlite_writers.py: one process's SQLite writers take turns, first come first served.

A real SQLite file through the bot's own `create_engine` (WAL, busy_timeout, the turns); a
small table of its own so nothing else in the schema matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import create_engine
from storage.sqlite_writers import WriterTurns, serialize_writers, turns_of
from tests.support.eventually import eventually


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE log (n INTEGER PRIMARY KEY, who TEXT)"))
    yield engine
    await engine.dispose()


def _turns(engine: AsyncEngine) -> WriterTurns:
    turns = turns_of(engine.sync_engine)
    assert turns is not None  # storage.db.create_engine gave this SQLite engine its turns
    return turns


async def _write(engine: AsyncEngine, who: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO log (who) VALUES (:who)"), {"who": who})


async def _hold(engine: AsyncEngine, wrote: asyncio.Event, release: asyncio.Event) -> None:
    """Writes, then keeps the transaction (and the write lock) open until `release`."""
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO log (who) VALUES ('holder')"))
        wrote.set()
        await release.wait()


async def _order(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [row[0] for row in await conn.execute(text("SELECT who FROM log ORDER BY n"))]


async def test_writers_waiting_behind_a_transaction_write_in_the_order_they_came(
    engine: AsyncEngine,
) -> None:
    wrote, release = asyncio.Event(), asyncio.Event()
    holding = asyncio.create_task(_hold(engine, wrote, release))
    await asyncio.wait_for(wrote.wait(), 10)
    names = [f"w{n:02d}" for n in range(12)]
    waiters = []
    for n, who in enumerate(names, start=1):  # each is queued before the next starts
        waiters.append(asyncio.create_task(_write(engine, who)))
        assert await eventually(lambda n=n: _turns(engine).waiting == n, within=10)  # type: ignore[misc]
    release.set()
    await asyncio.gather(holding, *waiters)
    # SQLite's busy handler would hand the lock to whoever polled at the right moment
    assert await _order(engine) == ["holder", *names]
    assert _turns(engine).waiting == 0


async def test_readers_do_not_wait_for_a_writer_and_a_rollback_gives_the_turn_back(
    engine: AsyncEngine,
) -> None:
    wrote, release = asyncio.Event(), asyncio.Event()

    async def failing_hold() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO log (who) VALUES ('rolled back')"))
            wrote.set()
            await release.wait()
            raise RuntimeError("the transaction fails after writing")

    failing = asyncio.create_task(failing_hold())
    await asyncio.wait_for(wrote.wait(), 10)
    assert await _order(engine) == []  # a read meanwhile: not queued behind the writer
    release.set()
    with pytest.raises(RuntimeError):
        await failing
    await asyncio.wait_for(_write(engine, "after"), 10)  # would wait 30 s if still held
    assert await _order(engine) == ["after"]


async def test_a_transaction_writing_twice_keeps_its_turn(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for who in ("one", "two", "three"):
            await conn.execute(text("INSERT INTO log (who) VALUES (:who)"), {"who": who})
    assert await _order(engine) == ["one", "two", "three"]


async def test_a_writer_kept_waiting_past_the_timeout_fails_as_sqlite_would(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'short.db'}")
    serialize_writers(engine.sync_engine, timeout=0.2)  # as create_engine does, but impatient
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE log (n INTEGER PRIMARY KEY, who TEXT)"))
    wrote, release = asyncio.Event(), asyncio.Event()
    holding = asyncio.create_task(_hold(engine, wrote, release))
    try:
        await asyncio.wait_for(wrote.wait(), 10)
        with pytest.raises(OperationalError, match="database is locked"):
            await _write(engine, "late")
    finally:
        release.set()
        await holding
    assert await _order(engine) == ["holder"]
    await engine.dispose()
