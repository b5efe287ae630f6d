"""UTC timestamps without server defaults; a unique slot per therapy session

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00

1. Timestamps. 0001 gave `created_at` (users, captures, reflections, triggers, recalls) and
   `conversation_states.updated_at` the server default `now()` / CURRENT_TIMESTAMP. In a
   PostgreSQL `timestamp without time zone` column that is the server's local wall clock
   (9 h ahead on a server in Asia/Tokyo); the models now stamp naive UTC in Python
   (`storage.clock.utcnow`), so these server defaults are dropped and the schema equals the
   models again.

   On PostgreSQL the values the server default wrote are converted from the zone this
   migration's connection reports (`current_setting('TimeZone')`) to UTC. This assumes:

   - `users`, `reflections`, `triggers` and `recalls`: every `created_at` was written by the
     server default (no code of 0001's era set it), by connections with the same TimeZone
     setting this migration sees now, i.e. the server's `timezone` and any `ALTER DATABASE`
     / `ALTER ROLE ... SET timezone` (or PGTZ/`options` given to this connection) have not
     changed since those rows were written, and this runs with the bot's own role, database
     and URL. If they did change, the converted times are off by the difference.
   - `captures.created_at` and `conversation_states.updated_at` were always set by Python
     (`created_at=utcnow()` in storage/captures.py since captures existed, and `updated_at=
     utcnow()` on every persistence write; key rotation keeps it), so they are already UTC
     and are left as they are.
   - A local time that occurred twice (the hour a daylight-saving zone turns back) is read
     as the later, standard-time instant, as PostgreSQL's `AT TIME ZONE` does: a row written
     in the first of the two hours ends up one hour late. Zones without DST are exact.
   - Rows the conversion would not change are not touched: with a UTC server (UTC, Etc/UTC,
     GMT, ...) nothing is rewritten.

   On SQLite nothing is converted: CURRENT_TIMESTAMP is already UTC.

2. Sessions. `therapy_sessions.slot` names what opened a session ("therapy:<UTC start>",
   "day:<local date>", see storage/sessions.py) and is unique per person, so captures that
   arrive at once insert-or-select one row instead of opening one session each. Existing
   rows get "id:<id>", which no new slot can equal, so none of them is ever picked by slot.

SQLite alters a column by rebuilding the table (create, copy, drop, rename). With foreign keys
on, dropping `users`, `therapy_sessions`, `reflections` or `triggers` would delete (cascade)
or null every child row, so this needs `PRAGMA foreign_keys=OFF`, which SQLite ignores inside
a transaction: `storage.db.migrate` turns it off before it starts and back on (after a
foreign key check) when done. Run another way, this migration turns it off itself if it can,
and otherwise refuses to touch a database that has rows.

Downgrade restores the server defaults and drops the slot; timestamps stay in UTC.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SERVER_STAMPED = ("users", "reflections", "triggers", "recalls")  # converted on PostgreSQL
PYTHON_STAMPED = ("captures", "conversation_states")  # already UTC
STAMP = {"conversation_states": "updated_at"}  # the timestamp column, if not created_at
SLOT = "uq_therapy_sessions_user_slot"


def _sqlite_foreign_keys_off(bind: sa.Connection) -> None:
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
    if not bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        return
    if bind.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM users)").scalar():
        raise RuntimeError(
            "SQLite foreign keys are on inside a transaction, and rebuilding the tables would "
            "delete every child row: run `python -m bot migrate` instead"
        )


def _to_utc(table: str) -> None:
    """Reads this table's timestamps as the server's local time and rewrites them in UTC."""
    column = STAMP.get(table, "created_at")
    utc = f"(({column} AT TIME ZONE current_setting('TimeZone')) AT TIME ZONE 'UTC')"
    op.execute(f"UPDATE {table} SET {column} = {utc} WHERE {utc} <> {column}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_foreign_keys_off(bind)
    elif bind.dialect.name == "postgresql":
        for table in SERVER_STAMPED:
            _to_utc(table)
    for table in SERVER_STAMPED + PYTHON_STAMPED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                STAMP.get(table, "created_at"),
                existing_type=sa.DateTime(),
                existing_nullable=False,
                server_default=None,
            )

    with op.batch_alter_table("therapy_sessions") as batch:
        batch.add_column(sa.Column("slot", sa.String(length=64), nullable=True))
    op.execute("UPDATE therapy_sessions SET slot = 'id:' || id")
    with op.batch_alter_table("therapy_sessions") as batch:
        batch.alter_column("slot", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(SLOT, ["user_id", "slot"])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_foreign_keys_off(bind)
    with op.batch_alter_table("therapy_sessions") as batch:
        batch.drop_constraint(SLOT, type_="unique")
        batch.drop_column("slot")
    for table in SERVER_STAMPED + PYTHON_STAMPED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                STAMP.get(table, "created_at"),
                existing_type=sa.DateTime(),
                existing_nullable=False,
                server_default=sa.text("(CURRENT_TIMESTAMP)"),
            )
