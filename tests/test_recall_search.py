"""storage/search.py on the test's real database: words, ranking, scoping, and encrypted rows."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

from storage.db import create_engine, create_sessionmaker, migrate
from storage.encrypted import TextCipher
from storage.models import Recall, RecallSource
from storage.search import keywords_of, query_stems, search, stem
from tests.support.rows import add_reflection, add_situation, add_user, open_db


def test_stems_bring_word_forms_together() -> None:
    groups = [
        ("walk", "walks", "walked", "walking"),
        ("argue", "argued", "arguing", "argues"),
        ("worry", "worries", "worried"),
        ("meeting", "meetings"),
        ("run", "running"),
        ("partner", "partners", "Partners"),
    ]
    for forms in groups:
        assert len({stem(f.lower()) for f in forms}) == 1, forms
    assert stem("money") != stem("mon")
    assert keywords_of("When my partner brings up MONEY, again!") == "partner bring money"
    assert keywords_of("when I") == ""
    assert query_stems("the") == ["the"]  # only stopwords: search for them anyway
    assert query_stems("don’t rush") == ["rush"]


async def test_money_finds_the_paragraph_by_its_situation_and_ranks_best_first(
    tmp_path: Path,
) -> None:
    engine, db = await open_db(tmp_path)
    await add_user(db, 1)
    await add_user(db, 2)
    money = await add_reflection(
        db, 1, "I can stay in the room", "Leaving is my old move.", "I breathe first.", days_ago=14
    )
    await add_situation(db, 1, money, "when my partner brings up money")
    mention = await add_reflection(
        db,
        1,
        "Rest is not a prize",
        "I work until I collapse.",
        "I stop worrying about money on Sundays.",
        days_ago=7,
    )
    headline = await add_reflection(db, 1, "Walking helps me think", days_ago=1)
    other = await add_reflection(db, 2, "Money money money", "money", "money")  # not theirs

    async with db() as s:
        hits = await search(s, 1, "money")
        assert [h.reflection_id for h in hits] == [money, mention]  # cue beats a passing mention
        assert [h.reflection_id for h in await search(s, 2, "money")] == [other]
        both = await search(s, 1, "partner sunday")
        assert len(both) == 2 and both[0].matched == 1
        assert [h.reflection_id for h in await search(s, 1, "walks")] == [headline]
        assert [h.reflection_id for h in await search(s, 1, "breath")] == [money]  # prefix
        assert await search(s, 1, "zebra") == []
        assert await search(s, 1, "🙂 ...") == []
        assert await search(s, 3, "money") == []
    await engine.dispose()


async def test_outcomes_and_loose_captures_are_searched(tmp_path: Path) -> None:
    engine, db = await open_db(tmp_path)
    await add_user(db, 1)
    rid = await add_reflection(db, 1, "I can say no", landed="Boundaries are care.")
    async with db() as s, s.begin():
        s.add(
            Recall(
                user_id=1, reflection_id=rid, source=RecallSource.PING, outcome="The dentist call"
            )
        )
    async with db() as s:
        assert [h.reflection_id for h in await search(s, 1, "dentist")] == [rid]
        assert [h.reflection_id for h in await search(s, 1, "boundary")] == [rid]
    await engine.dispose()


async def test_search_reads_encrypted_rows(database_url: str) -> None:
    engine = create_engine(database_url, TextCipher([Fernet.generate_key()]))
    await migrate(engine)
    db = create_sessionmaker(engine)
    await add_user(db, 1)
    rid = await add_reflection(db, 1, "I can stay in the room")
    await add_situation(db, 1, rid, "when my partner brings up money")
    async with engine.connect() as connection:
        raw = (await connection.execute(text("SELECT cue, keywords FROM triggers"))).one()
        assert all(value.startswith("fernet:") for value in raw)
        assert "money" not in " ".join(raw)
    async with db() as s:
        assert [h.reflection_id for h in await search(s, 1, "money")] == [rid]
    await engine.dispose()
