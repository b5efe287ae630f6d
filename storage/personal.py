"""Everything stored about one person, table by table: for /export and /delete.

Driven by the schema rather than a hand-kept list: every table with a `user_id` column holds
a person's rows (plus their `users` row), so a table added later is exported and deleted
without touching this module. Text comes back decrypted (EncryptedText does it per column).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Base, User

USERS = User.__tablename__


def personal_tables() -> list[Table]:
    """The users table, then every table with a user_id column, parents before children."""
    return [
        table
        for table in Base.metadata.sorted_tables
        if table.name == USERS or "user_id" in table.columns
    ]


@dataclass
class PersonalData:
    """One person's rows as plain dicts (column name -> value), per table name."""

    user_id: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def user(self) -> dict[str, Any] | None:
        rows = self.tables.get(USERS) or []
        return rows[0] if rows else None

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.tables.get(table, [])

    @property
    def count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


class PersonalDataRepository:
    """Reads or removes all of one person's rows; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _owner(table: Table, user_id: int) -> ColumnElement[bool]:
        return table.c.id == user_id if table.name == USERS else table.c.user_id == user_id

    async def collect(self, user_id: int) -> PersonalData:
        """Every row of this person in every table, ordered by primary key.

        Args:
            user_id: the Telegram user id.

        Returns:
            The rows (text decrypted); tables without rows map to empty lists.
        """
        data = PersonalData(user_id)
        for table in personal_tables():
            query = (
                select(table)
                .where(self._owner(table, user_id))
                .order_by(*table.primary_key.columns)
            )
            result = await self.session.execute(query)
            data.tables[table.name] = [dict(row) for row in result.mappings()]
        return data

    async def erase(self, user_id: int) -> dict[str, int]:
        """Deletes every row of this person, children first (no reliance on FK cascades).

        Args:
            user_id: the Telegram user id.

        Returns:
            Rows deleted per table name (tables with none are left out).
        """
        counts: dict[str, int] = {}
        for table in reversed(personal_tables()):
            result = await self.session.execute(delete(table).where(self._owner(table, user_id)))
            deleted = rows_changed(result)
            if deleted:
                counts[table.name] = deleted
        return counts
