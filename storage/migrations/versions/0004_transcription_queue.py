"""The transcription queue: transcript_results, and procrastinate's schema on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 20:00:00

`transcript_results` holds what a queue worker heard until the bot reads it (both
databases: the table is harmless on SQLite, where the queue is never used). On PostgreSQL
this also applies procrastinate's own schema (its tables, types, functions and triggers:
`procrastinate.schema.SchemaManager.get_schema()`, the schema of the installed version,
3.10) so that one `python -m bot migrate` readies the database for TRANSCRIBE_BACKEND=queue;
a later procrastinate that changes its schema gets a migration of ours that applies its
migration files. On SQLite that part is a no-op. Without procrastinate installed (the
`postgres` extra) the PostgreSQL part stops with one line saying to install it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.util import await_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _procrastinate_schema() -> str:
    try:
        from procrastinate.schema import SchemaManager
    except ImportError as exc:
        raise RuntimeError(
            "procrastinate is not installed: pip install -e '.[postgres]' (it is in the extra)"
        ) from exc
    return str(SchemaManager.get_schema())


def upgrade() -> None:
    op.create_table(
        "transcript_results",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column(
            "user_id",
            sa.BigInteger(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("failure", sa.String(32), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("audio_path", sa.String(512), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_transcript_results_user_id", "transcript_results", ["user_id"])
    op.create_index("ix_transcript_results_created_at", "transcript_results", ["created_at"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    exists = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").scalar()
    if exists:
        return  # applied by hand (procrastinate schema --apply) before this migration
    # Many statements with $$-quoted bodies: sent as one simple query on the driver's own
    # connection (a prepared statement takes one), inside this migration's transaction.
    driver = bind.connection.driver_connection
    await_only(driver.execute(_procrastinate_schema()))  # type: ignore[union-attr]


def downgrade() -> None:
    op.drop_table("transcript_results")  # procrastinate's schema stays: it may hold jobs
