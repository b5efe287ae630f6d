"""Engine, session factory and migrations: created in post_init, disposed in post_shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.encrypted import TextCipher, attach_cipher
from storage.sqlite_writers import serialize_writers

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult, Result
    from sqlalchemy.engine.interfaces import DBAPIConnection

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_PAUSES = (0.5, 1.0, 2.0)  # seconds before the 2nd, 3rd and 4th try of a refused transaction
BUSY_TIMEOUT_SECONDS = 30  # SQLite: how long a writer waits for the write lock, then fails
MIGRATE_LOCK = 0x6265747765656E  # PostgreSQL advisory lock held while migrating ("between")
VACUUM_LOCK_TIMEOUT = "5s"  # VACUUM FULL waits this long for a table (queries queue behind it)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (its result is a cursor result)."""
    return cast("CursorResult[Any]", result).rowcount


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    """Foreign keys on (cascading deletes), secure_delete so deleted text is zeroed on disk."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA foreign_keys=ON",
        "PRAGMA secure_delete=ON",
        "PRAGMA journal_mode=WAL",
        # a writer waits this long (ms) for SQLite's one write lock: a burst of 40 people's
        # first messages on a loaded machine queued past 5 s (tests/test_burst.py), and a
        # refused write loses the message being stored
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}",
    ):
        cursor.execute(pragma)
    cursor.close()


def create_engine(url: str, cipher: TextCipher | None = None) -> AsyncEngine:
    """Creates the async engine; for SQLite makes the folder and sets the pragmas.

    Args:
        url: any SQLAlchemy async URL (sqlite+aiosqlite:///..., postgresql+asyncpg://...).
        cipher: encrypts EncryptedText columns at rest; None stores them as typed.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a database error's message (often logged) must not carry what people said
    engine = create_async_engine(
        url, pool_pre_ping=parsed.get_backend_name() != "sqlite", hide_parameters=True
    )
    if parsed.get_backend_name() == "sqlite":
        # The driver's default is kept on purpose: it BEGINs (deferred) at a transaction's
        # first INSERT/UPDATE/DELETE, so no transaction ever turns a read snapshot into a write
        # lock. In WAL mode that upgrade fails at once with "database is locked" whatever
        # busy_timeout says (measured: with BEGIN at the first statement, 46 of 50 concurrent
        # SessionRepository.current_or_new calls failed; with the default, none).
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        serialize_writers(engine.sync_engine, BUSY_TIMEOUT_SECONDS)  # in turn, not by polling
    attach_cipher(engine, cipher)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One AsyncSession per update or job; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def insert_unless_present(
    session: AsyncSession, model: type[Any], unique: list[str], **values: Any
) -> postgresql.Insert | sqlite.Insert:
    """`INSERT ... ON CONFLICT (unique) DO NOTHING` for the session's database.

    With `.returning(...)` it yields a row only when this call inserted it. On a conflict
    PostgreSQL waits for the other transaction and then does nothing, so calls racing for one
    key all end with the same committed row (READ COMMITTED: the next SELECT sees it);
    SQLite serialises writers, waiting up to busy_timeout.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
        )
    if dialect == "sqlite":
        return sqlite.insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    raise NotImplementedError(f"no INSERT ... ON CONFLICT DO NOTHING for {dialect}")


def ours(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's `include_name`: our tables, not procrastinate's (migration 0004 applies
    those as procrastinate ships them; autogenerate and schema checks leave them out)."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Applies every Alembic migration up to head on this engine (idempotent).

    On SQLite foreign keys are off while migrating: SQLite alters a table by rebuilding it,
    and dropping the old copy with foreign keys on would delete (cascade) every child row.
    The pragma only works outside a transaction, so it is set before the migration begins and
    restored after it ends (on this same pooled connection), after a foreign key check.
    """
    async with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            # bot replicas and queue workers may start at once: one migrates, the rest wait
            # for it here and then find the schema at head
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
            await connection.run_sync(_upgrade)
            await connection.commit()
        else:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            try:
                await connection.run_sync(_upgrade)
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    tables = sorted({str(row[0]) for row in broken})
                    raise RuntimeError(f"migration broke foreign keys in {', '.join(tables)}")
                await connection.commit()
            finally:
                await connection.rollback()
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()
    logger.info("database schema is at head")


T = TypeVar("T")


async def busy_retry(
    work: Callable[[], Awaitable[T]], what: str, pauses: tuple[float, ...] = BUSY_PAUSES
) -> T:
    """Runs `work` again, after a pause, when the database refused it for a moment.

    SQLite answers "database is locked" when a writer waited past busy_timeout for the write
    lock (many jobs writing at once: it is not handed out in turn), PostgreSQL an
    OperationalError when a connection dropped; either way that transaction was rolled back.
    `work` must be safe to run again from the start (the scheduled jobs are: each claims what
    it sends with a compare-and-set, so a second run sends nothing twice).

    Args:
        work: makes and awaits the whole unit of work, transactions included.
        what: names it in the log line (ids only).
        pauses: seconds to wait before each further try; after the last the error is raised.
    """
    for pause in (*pauses, None):
        try:
            return await work()
        except OperationalError as exc:
            if pause is None:
                raise
            logger.warning(
                "%s: the database refused (%s); trying again in %.1f s", what, _reason(exc), pause
            )
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")


def _reason(exc: DBAPIError) -> str:
    """The server's one-line reason (these statements carry no parameters, so no content)."""
    return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]


async def scrub_deleted(engine: AsyncEngine, tables: Iterable[str]) -> None:
    """Makes rows deleted (and committed) just now unreadable from the database files.

    SQLite: secure_delete zeroed the freed space in the changed pages, which sit in the WAL;
    a WAL checkpoint (TRUNCATE) writes them into the main file and empties the WAL.

    PostgreSQL: DELETE only marks row versions dead and plain VACUUM frees their space without
    overwriting it, so `VACUUM FULL` rewrites each table (with its TOAST table and indexes)
    into new files, and the old files are truncated when it commits. It holds an ACCESS
    EXCLUSIVE lock on one table at a time while it copies it (other queries on that table
    wait), and waits at most VACUUM_LOCK_TIMEOUT for that lock. Then `CHECKPOINT` flushes and
    lets the WAL that still holds the text be recycled sooner; it needs superuser or
    pg_checkpoint, and a refusal is only logged. A table that could not be rewritten (lock
    timeout, not its owner) is logged as a warning: the rows are deleted either way.

    Args:
        engine: the bot's engine.
        tables: names of the tables the rows were deleted from.
    """
    dialect = engine.dialect.name
    if dialect == "sqlite":
        async with engine.connect() as conn:
            busy = (await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).first()
        if busy is not None and busy[0]:
            logger.warning("WAL checkpoint after a deletion was busy")
        return
    if dialect != "postgresql":
        return
    started = time.perf_counter()
    skipped: list[str] = []
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        node = text("SELECT pg_relation_filenode(CAST(:t AS regclass))")
        await conn.execute(
            text("SELECT set_config('lock_timeout', :v, false)"), {"v": VACUUM_LOCK_TIMEOUT}
        )
        try:
            for table in tables:
                before = await conn.scalar(node, {"t": table})
                try:
                    # a table VACUUM may not touch is skipped with a WARNING, not an error
                    await conn.execute(text(f'VACUUM (FULL) "{table}"'))
                except DBAPIError as exc:
                    logger.warning("VACUUM FULL %s failed: %s", table, _reason(exc))
                if await conn.scalar(node, {"t": table}) == before:
                    skipped.append(table)
        finally:
            await conn.execute(text("RESET lock_timeout"))
        try:
            await conn.execute(text("CHECKPOINT"))
        except DBAPIError as exc:
            logger.info("CHECKPOINT after a deletion refused: %s", _reason(exc))
    if skipped:
        logger.warning(
            "VACUUM FULL did not rewrite %s: deleted text stays in its files until it does",
            ", ".join(skipped),
        )
    logger.info("VACUUM FULL after a deletion: %.2f s", time.perf_counter() - started)
