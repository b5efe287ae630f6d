"""The test database, SQLite or PostgreSQL: making one, reading it raw, and what it holds.

conftest's `database_url` fixture is the one place that chooses the database of a test:
an SQLite file in tmp_path, or, when BETWEEN_TEST_DATABASE_URL names a PostgreSQL server
(tests/support/with_postgres.sh starts one), a fresh database created on it for that test
and dropped after it. Everything else here works on whichever URL it is given.
"""

from __future__ import annotations

import asyncio
import glob
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

ADMIN_URL_ENV = "BETWEEN_TEST_DATABASE_URL"

_by_tmp_path: dict[Path, str] = {}  # the database of each running test, found by its tmp_path


def kind_of(url: str) -> str:
    """The backend of `url`: "sqlite" or "postgresql"."""
    return make_url(url).get_backend_name()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    assert parsed.get_backend_name() == "sqlite" and parsed.database, url
    return Path(parsed.database)


def _libpq(url: str | URL) -> str:
    """postgresql+asyncpg://... as the postgresql://... URL that asyncpg and pg_dump read."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run_async(coro: Any) -> Any:
    """Runs a coroutine to the end on its own loop in a worker thread.

    Works from sync code and from inside a running event loop alike (the test's loop is
    never touched, and a test may call this in a polling predicate while the bot writes).
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(admin_url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_libpq(admin_url), timeout=30)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of `admin_url`, dropped afterwards; yields its URL."""
    name = f"between_test_{secrets.token_hex(6)}"
    _run_async(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_async(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def registered(tmp_path: Path, url: str) -> Iterator[None]:
    """Remembers `url` as the database of the test running in `tmp_path`."""
    _by_tmp_path[tmp_path] = url
    try:
        yield
    finally:
        _by_tmp_path.pop(tmp_path, None)


def url_of(tmp_path: Path) -> str:
    """The URL of the database conftest's `database_url` chose for the test in `tmp_path`."""
    try:
        return _by_tmp_path[tmp_path]
    except KeyError:
        raise AssertionError(f"no test database is registered for {tmp_path}") from None


async def _pg_rows(url: str, sql: str) -> list[tuple]:
    import asyncpg

    connection = await asyncpg.connect(_libpq(url), timeout=30)
    try:
        return [tuple(record) for record in await connection.fetch(sql)]
    finally:
        await connection.close()


def read_rows(url: str, sql: str) -> list[tuple]:
    """Runs one SELECT on the database directly, past the bot (which may be writing it)."""
    if kind_of(url) == "sqlite":
        con = sqlite3.connect(sqlite_path(url), timeout=10)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    return _run_async(_pg_rows(url, sql))


def sqlite_file_bytes(db: Path) -> bytes:
    """An SQLite database file and its WAL, as they are on disk right now."""
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def pg_dump_binary() -> str:
    """The newest Debian pg_dump (/usr/lib/postgresql/*/bin), which dumps any older server."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_dump"),
        key=lambda p: int(Path(p).parent.parent.name.split(".")[0]),
    )
    assert found, "no /usr/lib/postgresql/*/bin/pg_dump (Debian package: postgresql)"
    return found[-1]


def pg_dump_data(url: str) -> bytes:
    """`pg_dump --data-only` of a PostgreSQL database over TCP: every stored value, as text.

    pg_dump's per-run random `\\restrict` key lines are dropped, so that two dumps of the
    same data are equal byte for byte.
    """
    parsed = make_url(url)
    assert parsed.get_backend_name() == "postgresql", url
    done = subprocess.run(
        [pg_dump_binary(), "--data-only", "--no-owner", "--no-privileges", "-d", _libpq(parsed)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    lines = done.stdout.splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith((b"\\restrict", b"\\unrestrict")))


def stored_bytes(url: str) -> bytes:
    """Everything the database holds right now, as bytes to search for what must not be there.

    SQLite: the file and its WAL, byte for byte. PostgreSQL: `pg_dump --data-only`.
    """
    if kind_of(url) == "sqlite":
        return sqlite_file_bytes(sqlite_path(url))
    return pg_dump_data(url)


def disk_bytes(db: Path) -> bytes:
    """What the test's database holds on disk, given as its SQLite file tmp_path / "between.db".

    When this test's database is PostgreSQL instead (see `database_url`), there is no such
    file: the database's `pg_dump --data-only` is searched in its place (`stored_bytes`).
    """
    url = _by_tmp_path.get(db.parent)
    if url is not None and kind_of(url) == "postgresql":
        return pg_dump_data(url)
    return sqlite_file_bytes(db)
