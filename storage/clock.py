"""The one clock reading storage writes: naive UTC (a leaf, importable from the models)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC now, the form every timestamp column stores (whatever the server's zone)."""
    return datetime.now(UTC).replace(tzinfo=None)
