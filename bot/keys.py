"""Encryption keys: the startup check that the key fits the data, and `rotate-key`.

At first start with ENCRYPTION_KEY set, a canary (a fixed word, Fernet-encrypted) is written
to the `meta` table. Every start reads it before anything else touches the database:

* a key is set and cannot decrypt the canary (or, with no canary yet, a sample of the stored
  text): EncryptionKeyError, nothing written;
* no key is set but the canary or any stored text is encrypted: EncryptionKeyError too.

`python -m bot rotate-key` re-encrypts every EncryptedText value (and the canary) under the
first key of the comma list, in one transaction: older keys may then be dropped. Values
stored as plain text (written before a key was set) are encrypted by the same command, so
"rotate-key" means "everything under the first key".

Search needs no keyed index: /recall decrypts one person's rows in memory (storage.search),
which a self-hosted bot with a few hundred rows per person does in milliseconds, and which
leaks nothing (a keyed index would reveal which rows share a word).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import (
    Column,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import TypeCoerce

from bot.errors import EncryptionKeyError
from storage.encrypted import MARKER, EncryptedText, TextCipher, looks_encrypted
from storage.models import Base, Meta

logger = logging.getLogger(__name__)

CANARY_KEY = "encryption_canary"
CANARY_TEXT = "between-canary"

WRONG_KEY = (
    "ENCRYPTION_KEY does not decrypt this database (it was encrypted with another key). "
    "Nothing was changed: start with the key it was encrypted with, or to change keys run "
    "`python -m bot rotate-key` with ENCRYPTION_KEY=new_key,old_key."
)
MISSING_KEY = (
    "ENCRYPTION_KEY is not set, but this database holds encrypted text. Nothing was "
    "changed: set ENCRYPTION_KEY to the key it was encrypted with."
)


def encrypted_columns() -> list[tuple[Table, Column[str]]]:
    """Every (table, column) stored as EncryptedText, in dependency order."""
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def _raw(column: Column[str]) -> TypeCoerce[str]:
    """The column as stored (ciphertext), without EncryptedText decrypting it."""
    return type_coerce(column, Text())


def _canary(conn: Connection) -> str | None:
    meta = Meta.__table__
    return conn.scalar(select(meta.c.value).where(meta.c.key == CANARY_KEY))


def _opens(cipher: TextCipher, stored: str) -> bool:
    try:
        cipher.decrypt(stored)
    except EncryptionKeyError:
        return False
    return True


def _check(conn: Connection, cipher: TextCipher | None) -> None:
    tables = set(inspect(conn).get_table_names())
    if "meta" not in tables:
        return  # a new database: nothing stored yet
    samples: list[str] = []
    canary = _canary(conn)
    if canary is not None:
        samples.append(canary)
    else:  # written before the canary existed: look at the data itself, one value per column
        for table, column in encrypted_columns():
            if table.name in tables:
                raw = _raw(column)
                found = conn.scalar(select(raw).where(raw.like(MARKER + "%")).limit(1))
                if found is not None:
                    samples.append(found)
    if not samples:
        return
    if cipher is None:
        raise EncryptionKeyError(MISSING_KEY)
    if not all(_opens(cipher, sample) for sample in samples):
        raise EncryptionKeyError(WRONG_KEY)


def _count_plain(conn: Connection) -> int:
    total = 0
    for _table, column in encrypted_columns():
        raw = _raw(column)
        total += (
            conn.scalar(select(func.count()).where(raw.is_not(None), raw.not_like(MARKER + "%")))
            or 0
        )
    return total


def _ensure_canary(conn: Connection, cipher: TextCipher | None) -> None:
    if cipher is None or _canary(conn) is not None:
        return
    conn.execute(insert(Meta).values(key=CANARY_KEY, value=cipher.encrypt(CANARY_TEXT)))
    logger.info("encryption canary written")
    plain = _count_plain(conn)
    if plain:
        logger.warning(
            "%d stored texts predate ENCRYPTION_KEY and are still plain: "
            "run `python -m bot rotate-key` to encrypt them",
            plain,
        )


async def verify_key(engine: AsyncEngine, cipher: TextCipher | None) -> None:
    """Checks, reading only, that `cipher` opens what is stored.

    Args:
        engine: the database (its schema may be older than head, or missing).
        cipher: the configured keys, or None when ENCRYPTION_KEY is not set.

    Raises:
        EncryptionKeyError: the key is wrong, or missing while encrypted text exists.
    """
    async with engine.connect() as conn:
        await conn.run_sync(_check, cipher)


async def ensure_canary(engine: AsyncEngine, cipher: TextCipher | None) -> None:
    """Writes the canary under the newest key when a key is set and none is stored yet."""
    async with engine.begin() as conn:
        await conn.run_sync(_ensure_canary, cipher)


@dataclass
class RotationReport:
    """What `rotate_all` changed, per "table.column"."""

    rotated: dict[str, int] = field(default_factory=dict)  # re-encrypted under the first key
    encrypted: dict[str, int] = field(default_factory=dict)  # were plain text before

    @property
    def total(self) -> int:
        return sum(self.rotated.values()) + sum(self.encrypted.values())

    def lines(self) -> list[str]:
        """One line per column that had values, then a total."""
        names = sorted(set(self.rotated) | set(self.encrypted))
        out = [
            f"{name}: {self.rotated.get(name, 0)} re-encrypted, "
            f"{self.encrypted.get(name, 0)} newly encrypted"
            for name in names
            if self.rotated.get(name) or self.encrypted.get(name)
        ]
        out.append(
            f"Done: {self.total} values are now encrypted under the first key of "
            "ENCRYPTION_KEY; older keys can be removed."
        )
        return out


def _rotate(conn: Connection, cipher: TextCipher) -> RotationReport:
    report = RotationReport()
    for table, column in encrypted_columns():
        pk = list(table.primary_key.columns)
        raw = _raw(column).label("raw")
        rows = conn.execute(select(*pk, raw).where(raw.is_not(None))).all()
        # keep timestamps like conversation_states.updated_at as they were
        untouched = {c.name: c for c in table.columns if c.onupdate is not None}
        name = f"{table.name}.{column.name}"
        for row in rows:
            stored: str = row.raw
            if looks_encrypted(stored):
                new = cipher.rotate(stored)
                report.rotated[name] = report.rotated.get(name, 0) + 1
            else:
                new = cipher.encrypt(stored)
                report.encrypted[name] = report.encrypted.get(name, 0) + 1
            where = [c == row[i] for i, c in enumerate(pk)]
            conn.execute(
                table.update()
                .where(*where)
                .values({column.name: type_coerce(new, Text()), **untouched})
            )
    canary = _canary(conn)
    if canary is None:
        conn.execute(insert(Meta).values(key=CANARY_KEY, value=cipher.encrypt(CANARY_TEXT)))
    else:
        conn.execute(update(Meta).where(Meta.key == CANARY_KEY).values(value=cipher.rotate(canary)))
    return report


async def rotate_all(engine: AsyncEngine, cipher: TextCipher) -> RotationReport:
    """Re-encrypts every stored text (and the canary) under the first key, in one transaction.

    Args:
        engine: the database, migrated to head.
        cipher: every key that may have encrypted something, the new one first.

    Returns:
        The counts per column.

    Raises:
        EncryptionKeyError: some value opens with none of the keys (nothing is changed).
    """
    async with engine.begin() as conn:
        report = await conn.run_sync(_rotate, cipher)
    if engine.dialect.name == "sqlite":  # old ciphertext must not linger in the WAL file
        async with engine.connect() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    logger.info("rotate-key: %d values re-encrypted", report.total)
    return report
