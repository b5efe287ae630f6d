"""`/recall WORDS` search speed: our Python scoring (plain and encrypted) next to SQLite FTS5.

    python bench/search.py [--rows 1000] [--others 20] [--queries 50]

Builds a SQLite file with one person holding `--rows` searchable rows (saved reflections with
situation triggers, captures, recall outcomes) and `--others` people with as many rows each
(scoping by user_id must keep their rows out of the cost), then times storage.search.search
per query, without and with ENCRYPTION_KEY. The peer is SQLite FTS5 over the same person's
plain text (what we would use if the text were not encrypted at rest). Prints the median and
p95 per query in milliseconds; the text itself is synthetic.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bot.jobs.trigger import apply_situation  # noqa: E402
from storage.db import create_engine, create_sessionmaker, migrate  # noqa: E402
from storage.encrypted import TextCipher  # noqa: E402
from storage.models import (  # noqa: E402
    Capture,
    CaptureKind,
    CaptureStatus,
    Recall,
    RecallSource,
    Reflection,
    ReflectionStatus,
    TherapySession,
    Trigger,
    TriggerKind,
    TriggerStatus,
    User,
)
from storage.search import search  # noqa: E402

VOCABULARY = (
    "rest prize partner money mother sister boss voice evening walk morning sorry quiet angry "
    "room breathe leave stay call email deadline sunday weekend body tired sleep coffee work "
    "friend dinner phone argue worry fear shame pride boundary care kind slow notice feeling"
)
WORDS = VOCABULARY.split()
QUERIES = ["money", "partner money", "walk", "sister call", "boundary", "tired sunday", "zebra"]


def sentence(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


async def fill(db, user_id: int, rows: int, rng: random.Random) -> list[str]:  # type: ignore[no-untyped-def]
    """About `rows` searchable rows for one person; returns their texts (for the FTS peer)."""
    texts: list[str] = []
    now = datetime.now(UTC).replace(tzinfo=None)
    async with db() as s, s.begin():
        s.add(User(id=user_id, chat_id=user_id, timezone="UTC", onboarded=True))
        await s.flush()
        made = 0
        week = 0
        while made < rows:
            started = now - timedelta(days=7 * week)
            week += 1
            session = TherapySession(user_id=user_id, started_at=started, local_date=started)
            s.add(session)
            await s.flush()
            for _ in range(2):
                text = sentence(rng)
                texts.append(text)
                s.add(
                    Capture(
                        user_id=user_id,
                        session_id=session.id,
                        kind=CaptureKind.TEXT,
                        status=CaptureStatus.SAVED,
                        text=text,
                        chat_id=user_id,
                    )
                )
            answers = [sentence(rng, 8) for _ in range(3)]
            texts.extend([*answers, " ".join(answers)])
            reflection = Reflection(
                user_id=user_id,
                session_id=session.id,
                version=1,
                status=ReflectionStatus.SAVED,
                step=4,
                answer_what=answers[0],
                answer_why=answers[1],
                answer_do=answers[2],
                paragraph=" ".join(answers),
                saved_at=started,
            )
            s.add(reflection)
            await s.flush()
            trigger = Trigger(
                user_id=user_id,
                reflection_id=reflection.id,
                kind=TriggerKind.SITUATION,
                status=TriggerStatus.ACTIVE,
            )
            apply_situation(trigger, "when " + sentence(rng, 5))
            texts.append(trigger.cue or "")
            s.add(trigger)
            outcome = sentence(rng, 10)
            texts.append(outcome)
            s.add(
                Recall(
                    user_id=user_id,
                    reflection_id=reflection.id,
                    source=RecallSource.COMMAND,
                    outcome=outcome,
                )
            )
            made += 8  # 2 captures, 3 answers + paragraph, a cue, an outcome
    return texts


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


async def time_ours(
    path: Path, cipher: TextCipher | None, args, rng
) -> tuple[list[float], list[str]]:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite+aiosqlite:///{path}", cipher)
    await migrate(engine)
    db = create_sessionmaker(engine)
    texts = await fill(db, 1, args.rows, rng)
    for other in range(2, args.others + 2):
        await fill(db, other, args.rows, rng)
    samples = []
    for i in range(args.queries):
        query = QUERIES[i % len(QUERIES)]
        async with db() as s:
            started = time.perf_counter()
            await search(s, 1, query)
            samples.append(time.perf_counter() - started)
    await engine.dispose()
    return samples, texts


def time_fts(texts: list[str], queries: int) -> list[float]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter')")
    connection.executemany("INSERT INTO docs(body) VALUES (?)", [(t,) for t in texts])
    samples = []
    for i in range(queries):
        query = " OR ".join(QUERIES[i % len(QUERIES)].split())
        started = time.perf_counter()
        connection.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 20", (query,)
        ).fetchall()
        samples.append(time.perf_counter() - started)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--others", type=int, default=20)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, texts = await time_ours(Path(tmp) / "plain.db", None, args, random.Random(1))
        cipher = TextCipher([Fernet.generate_key()])
        encrypted, _ = await time_ours(Path(tmp) / "enc.db", cipher, args, random.Random(1))
    fts = time_fts(texts, args.queries)
    print(f"{len(texts)} texts of the person searched, {args.others} others of the same size")
    print(f"python scoring, plain text   {summary(plain)}")
    print(f"python scoring, encrypted    {summary(encrypted)}")
    print(f"sqlite fts5 (peer, plain)    {summary(fts)}")


if __name__ == "__main__":
    asyncio.run(main())
