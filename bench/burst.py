"""A burst: 40 people send 5 sentences each within a second, 4 of them a voice memo too.

    python bench/burst.py [--runs 3] [--people 40] [--sentences 5] [--memos 4] [--only NAME]

Each bot runs as its own subprocess on a fresh SQLite file, long polling its own local Bot
API test server (tests/support/telegram_server.py, no rate limit of its own) in this process;
one bot after the other, so each has the machine to itself, all in the same run, `--runs`
times. The people are onboarded (rows seeded) before the bot starts; one warm-up sentence and
memo go first, untimed.

The burst: every sentence and memo is queued on the server at a random instant within
`--spread` seconds (seeded, the same instants for every bot). A sentence's latency runs from
its update being queued to the bot's answer carrying it (Between: the capture card; the
minimal peer: its echo) reaching the server; a memo's, to its transcript (Between: the edit
of its "transcribing…" placeholder). p50/p95/p99/max are nearest-rank over all sentences of
all runs of that bot; "all" is the median over runs of the time to the run's last answer.

    Between     python -m bot as it is: answers to a person's own update skip the 30 msg/s
                budget meant for fan-out (bot/retry.py)
    Between-30  the same bot with every send in that budget, as before this bench
                (RetryingRateLimiter(answers_budgeted=True))
    peer        bench/latency_peer.py: a minimal PTB bot (concurrent updates, no limiter, no
                database) that echoes each sentence and transcribes memos with the same engine

Prints one table; asserts nothing. About 10 s per bot and run (3 runs of 3 bots: ~1.5 min).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import PEER, Proc, _clean_env, _spawn, quantile  # noqa: E402

from tests.support.person import Person  # noqa: E402
from tests.support.telegram_server import TOKEN, ApiRequest, TelegramTestServer  # noqa: E402

MEMO = ROOT / "tests" / "fixtures" / "speech_03.ogg"  # 5.2 s
MEMO_SECONDS = 5
FIRST = 3001  # people are FIRST, FIRST + 1, ...
WARM = 2999
READY_TIMEOUT = 180.0
ANSWER_TIMEOUT = 120.0
BOTS = ("Between", "Between-30", "peer")
# The previous settings: every send, answers included, in the 30 msg/s budget.
BUDGETED = (
    "import functools, runpy, bot.app, bot.retry; "
    "bot.app.RetryingRateLimiter = functools.partial("
    "bot.retry.RetryingRateLimiter, answers_budgeted=True); "
    "runpy.run_module('bot', run_name='__main__')"
)


def sentence(user_id: int, n: int) -> str:
    return f"Burst {user_id}-{n}: I noticed I go quiet when money comes up."


# --------------------------------------------------------------------------- the processes


async def seed(url: str, people: list[int]) -> None:
    """Onboarded people with a weekly session, as the bot's regular users are."""
    from storage.db import create_engine, create_sessionmaker, migrate
    from storage.models import User

    engine = create_engine(url)
    await migrate(engine)
    db = create_sessionmaker(engine)
    async with db() as s, s.begin():
        for user_id in people:
            s.add(
                User(
                    id=user_id,
                    chat_id=user_id,
                    timezone="UTC",
                    therapy_weekday=1,
                    therapy_time=dtime(17, 0),
                    evening_time=dtime(20, 30),
                    onboarded=True,
                )
            )
    await engine.dispose()


async def start(name: str, server: TelegramTestServer, tmp: Path, people: list[int]) -> Proc:
    env = _clean_env()
    if name == "peer":
        return await _spawn([sys.executable, str(PEER), server.root, TOKEN], env, tmp, tmp / "log")
    url = f"sqlite+aiosqlite:///{tmp / 'between.db'}"
    await seed(url, [WARM, *people])
    env |= {
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.root,
        "DATABASE_URL": url,
    }
    argv = [sys.executable, "-m", "bot"] if name == "Between" else [sys.executable, "-c", BUDGETED]
    return await _spawn(argv, env, tmp, tmp / "log")


# --------------------------------------------------------------------------- timing


@dataclass
class Figures:
    name: str
    sentences: list[float] = field(default_factory=list)
    memos: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)


def answered(request: ApiRequest, chat_id: int, words: str | None) -> bool:
    """A message or edit in `chat_id` carrying `words`; None: a memo's transcript (neither a
    placeholder nor a sentence's answer)."""
    if request.method not in ("sendMessage", "editMessageText"):
        return False
    if str(request.params.get("chat_id")) != str(chat_id):
        return False
    text = str(request.params.get("text") or "")
    if words is not None:
        return words in text
    return bool(text) and "transcribing…" not in text and "Burst" not in text


async def arrival(server: TelegramTestServer, chat_id: int, since: int, words: str | None) -> float:
    """When (time.time()) the answer in `chat_id` after request number `since` arrived."""
    found: list[float] = []
    seen = since

    def ready() -> bool:
        nonlocal seen
        for request in server.requests[seen:]:
            if answered(request, chat_id, words):
                found.append(request.time)
                return True
        seen = len(server.requests)
        return False

    if not await server.wait_for(ready, ANSWER_TIMEOUT):
        raise TimeoutError(f"no answer in chat {chat_id} within {ANSWER_TIMEOUT:.0f} s")
    return found[0]


async def warm_up(server: TelegramTestServer, person: Person, memo: bytes) -> None:
    since = len(server.requests)
    person.send_text(sentence(person.user_id, 0))
    await arrival(server, person.user_id, since, sentence(person.user_id, 0))
    since = len(server.requests)
    person.send_voice(memo, duration=MEMO_SECONDS)
    await arrival(server, person.user_id, since, None)


async def burst(
    server: TelegramTestServer, people: list[Person], memo: bytes, args: argparse.Namespace
) -> tuple[list[float], list[float], float]:
    """Queues the burst at its seeded instants; returns sentence and memo latencies.

    One waiter matches every answer (a waiter per message would be woken by every request
    the server records, and this process is the server too).
    """
    loop = asyncio.get_running_loop()
    rng = random.Random(13)
    sends: list[tuple[float, Person, int]] = [
        (rng.uniform(0, args.spread), person, n)
        for person in people
        for n in range(1, args.sentences + 1)
    ]
    sends += [(rng.uniform(0, args.spread), person, -1) for person in people[: args.memos]]
    sends.sort(key=lambda item: item[0])
    waiting: dict[int, list[tuple[str | None, float]]] = {}  # chat -> (words, queued at)
    took: list[tuple[float, bool]] = []
    seen = len(server.requests)
    last = 0.0

    def match() -> bool:
        nonlocal seen, last
        for request in server.requests[seen:]:
            chat = str(request.params.get("chat_id"))
            pending = waiting.get(int(chat), []) if chat.isdigit() else []
            for item in pending:
                if answered(request, int(chat), item[0]):
                    pending.remove(item)
                    took.append((request.time - item[1], item[0] is None))
                    last = max(last, request.time)
                    break
        seen = len(server.requests)
        return len(took) == len(sends)

    began = loop.time()
    first = time.time()
    for offset, person, n in sends:
        await asyncio.sleep(max(0.0, began + offset - loop.time()))
        words = sentence(person.user_id, n) if n >= 0 else None
        if words is None:
            person.send_voice(memo, duration=MEMO_SECONDS)
        else:
            person.send_text(words)
        waiting.setdefault(person.user_id, []).append((words, time.time()))
        match()
    if not await server.wait_for(match, ANSWER_TIMEOUT):
        raise TimeoutError(f"{len(sends) - len(took)} not answered within {ANSWER_TIMEOUT:.0f} s")
    return (
        [t for t, is_memo in took if not is_memo],
        [t for t, is_memo in took if is_memo],
        last - first,
    )


async def measure(name: str, figures: Figures, args: argparse.Namespace) -> None:
    memo = MEMO.read_bytes()
    ids = list(range(FIRST, FIRST + args.people))
    with tempfile.TemporaryDirectory(prefix="between-burst-") as tmp:
        async with TelegramTestServer(token=TOKEN) as server:
            people = [server.person(user_id=i, first_name=f"P{i}") for i in ids]
            warm = server.person(user_id=WARM, first_name="Warm")
            proc = await start(name, server, Path(tmp), ids)
            try:
                await server.wait_for_call("getUpdates", timeout=READY_TIMEOUT)
                await warm_up(server, warm, memo)
                await asyncio.sleep(1.0)
                sentences, memos, last = await burst(server, people, memo, args)
                figures.sentences += sentences
                figures.memos += memos
                figures.last.append(last)
            except BaseException:
                print(f"--- {name} failed; the end of its log:", file=sys.stderr)
                print((Path(tmp) / "log").read_text(errors="replace")[-4000:], file=sys.stderr)
                raise
            finally:
                await proc.stop()


# --------------------------------------------------------------------------- the table


def _s(seconds: float) -> str:
    return f"{seconds:6.2f} s"


def table(rows: list[Figures], args: argparse.Namespace) -> str:
    lines = [
        f"{'':<11} {'sentence: queued -> answered':<39} {'memo -> transcript':<19} {'all':>8}",
        f"{'bot':<11} {'p50':>8} {'p95':>9} {'p99':>9} {'max':>9}  {'p50':>8} {'max':>9}"
        f"  {'(median)':>8}",
    ]
    for f in rows:
        lines.append(
            f"{f.name:<11} {_s(statistics.median(f.sentences))} {_s(quantile(f.sentences, 0.95))}"
            f" {_s(quantile(f.sentences, 0.99))} {_s(max(f.sentences))}  "
            + (f"{_s(statistics.median(f.memos))} {_s(max(f.memos))}" if f.memos else " " * 17)
            + f"  {_s(statistics.median(f.last))}"
        )
    lines.append(
        f"({args.runs} runs of {args.people} people x {args.sentences} sentences within "
        f"{args.spread:.1f} s, {args.memos} of them a {MEMO_SECONDS} s memo too; "
        f"{len(rows[0].sentences)} sentences per bot)"
    )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of every bot")
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--sentences", type=int, default=5, help="sentences per person")
    parser.add_argument("--memos", type=int, default=4, help="people who send a memo too")
    parser.add_argument("--spread", type=float, default=1.0, help="seconds the burst spans")
    parser.add_argument("--only", action="append", choices=BOTS, help="measure these bots")
    args = parser.parse_args()
    rows = [Figures(name) for name in BOTS if not args.only or name in args.only]
    for run in range(args.runs):
        for figures in rows:
            await measure(figures.name, figures, args)
            print(
                f"run {run + 1} {figures.name}: last answer {figures.last[-1]:.2f} s after the "
                "first send",
                file=sys.stderr,
            )
    print(f"burst, {MEMO.name} as the memo, {date.today()} ({datetime.now():%H:%M})")
    print(table(rows, args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
