"""SQLite writers of one process take turns in arrival order instead of polling for the lock.

SQLite has one write lock per database. A transaction takes it at its first INSERT, UPDATE or
DELETE and holds it until COMMIT or ROLLBACK; another writer meanwhile sleeps in SQLite's busy
handler and tries again (after 1, 2, 5 ... 100 ms), so the lock goes to whoever happens to
try at the right moment. In a burst of people writing at once (bench/burst.py: 40 people, 200
sentences in a second) a few transactions lost that lottery again and again and took up to a
second, while the median took 80 ms.

Here each engine's writers first queue on an `asyncio.Lock` (FIFO), taken at the same moment
SQLite would take its lock (the transaction's first write statement, from inside SQLAlchemy's
greenlet) and let go when the driver's COMMIT or ROLLBACK has returned, or the connection is
closed. SQLite's own lock is then uncontended within the process; other processes (a CLI,
`python -m bot migrate`) still meet it through busy_timeout. The wait is bounded like SQLite's
(`busy_timeout`): past it the statement fails with "database is locked", as it did before,
rather than waiting forever on a transaction that will not end.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import MissingGreenlet, OperationalError
from sqlalchemy.util import await_only

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_TURNS: weakref.WeakKeyDictionary[Engine, WriterTurns] = weakref.WeakKeyDictionary()


class WriterTurns:
    """The FIFO write lock of one SQLite engine and who holds it (a DBAPI connection)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection in its write transaction
        self.waiting = 0  # writers queued for their turn (tests, logs)

    def take(self, connection: object) -> None:
        """Waits (in SQLAlchemy's greenlet) for this connection's turn to write."""
        key = _raw(connection)
        if self._holder == key:
            return  # this transaction already wrote: it holds the turn
        turn = asyncio.wait_for(self._lock.acquire(), self.timeout)
        self.waiting += 1
        try:
            await_only(turn)
        except MissingGreenlet:  # not called from asyncio: SQLite's busy handler decides
            turn.close()
            return
        except TimeoutError:
            raise OperationalError(
                "waiting for this process's SQLite writer", None, Exception("database is locked")
            ) from None
        finally:
            self.waiting -= 1
        self._holder = key

    def give_back(self, connection: object) -> None:
        """Ends this connection's turn, if it had one (its transaction ended)."""
        if self._holder is not None and self._holder == _raw(connection):
            self._holder = None
            self._lock.release()


def serialize_writers(engine: Engine, timeout: float) -> WriterTurns:
    """Makes the writers on `engine` (the sync engine of an aiosqlite one) take turns."""
    turns = _TURNS[engine] = WriterTurns(timeout)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip()[:7].upper().startswith(WRITES):
            turns.take(conn.connection)

    dialect = engine.dialect
    for name in ("do_commit", "do_rollback", "do_close", "do_terminate"):
        _after(dialect, name, turns.give_back)

    @event.listens_for(engine, "checkin")  # back in the pool: whatever it did has ended
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        turns.give_back(dbapi_connection)

    return turns


def turns_of(engine: Engine) -> WriterTurns | None:
    """The turns of an engine that has them (an SQLite one made by storage.db)."""
    return _TURNS.get(engine)


def _raw(connection: object) -> int:
    """Who a connection is: the DBAPI connection under a pool's proxy (the dialect gets either)."""
    return id(getattr(connection, "dbapi_connection", None) or connection)


def _after(dialect: Any, name: str, then: Callable[[object], None]) -> None:
    """Wraps one of this dialect instance's DBAPI calls so `then` runs once it returned."""
    original = getattr(dialect, name)

    def wrapped(dbapi_connection: object) -> None:
        try:
            original(dbapi_connection)
        finally:
            then(dbapi_connection)

    setattr(dialect, name, wrapped)
