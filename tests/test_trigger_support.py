"""Checks of the seeding helpers in tests/support/rows.py: the rows belong to their person."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from storage.models import Capture, TriggerKind
from tests.support.rows import add_reflection, add_situation, add_user, open_db, triggers_of


async def test_seeded_rows_belong_to_their_person(tmp_path: Path) -> None:
    engine, db = await open_db(tmp_path)
    await add_user(db, 1)
    await add_user(db, 2, tz="UTC")
    rid = await add_reflection(db, 1, "Rest is not a prize", landed="You don't earn rest.")
    tid = await add_situation(db, 1, rid, "when my partner brings up money")
    (trigger,) = await triggers_of(db, 1)
    assert (trigger.id, trigger.kind, trigger.keywords) == (
        tid,
        TriggerKind.SITUATION,
        "partner bring money",
    )
    assert await triggers_of(db, 2) == []
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(Capture)) == 1
    await engine.dispose()
