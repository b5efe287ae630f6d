"""Therapy schedules (every N weeks, irregular, skipped and moved sessions), snoozes, the
one-tap recall button

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00

Only additions: four `users` columns with defaults that keep every existing person's
schedule as it was (weekly, anchored nowhere: every week of the weekday), and two tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _kind(*values: str) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, create_constraint=False, length=16)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("therapy_every_weeks", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("therapy_anchor", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("therapy_irregular", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("recall_keyboard", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    # The server defaults only fill the existing rows; the models set these in Python.
    with op.batch_alter_table("users") as batch:
        for column in ("therapy_every_weeks", "therapy_irregular", "recall_keyboard"):
            batch.alter_column(column, server_default=None)

    op.create_table(
        "therapy_dates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.BigInteger(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", _kind("session", "skip"), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "user_id", "kind", "starts_at", name="uq_therapy_dates_user_kind_start"
        ),
    )
    op.create_index("ix_therapy_dates_user_id", "therapy_dates", ["user_id"])

    op.create_table(
        "snoozes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.BigInteger(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", _kind("ping", "evening"), nullable=False),
        sa.Column(
            "trigger_id",
            sa.Integer(),
            sa.ForeignKey("triggers.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_snoozes_user_id", "snoozes", ["user_id"])
    op.create_index("ix_snoozes_trigger_id", "snoozes", ["trigger_id"])
    op.create_index("ix_snoozes_due_at", "snoozes", ["due_at"])


def downgrade() -> None:
    op.drop_table("snoozes")
    op.drop_table("therapy_dates")
    with op.batch_alter_table("users") as batch:
        for column in ("recall_keyboard", "therapy_irregular", "therapy_anchor"):
            batch.drop_column(column)
        batch.drop_column("therapy_every_weeks")
