"""Memos per minute with 1, 2 and 4 queue worker processes, next to the in-process pool.

    python bench/scale.py [--memos 40] [--workers 1,2,4]

Needs PostgreSQL: run under tests/support/with_postgres.sh (this script re-runs itself there
when BETWEEN_TEST_DATABASE_URL is not set). Each layout gets a fresh database and its own
local Bot API test server (tests/support/telegram_server.py, in this process); the bot runs
as `python -m bot` and each worker as `python -m bot worker`, all subprocesses, one layout
after the other so each has the machine to itself:

- local (the peer): TRANSCRIBE_BACKEND=local, the bot's own pool, TRANSCRIBE_WORKERS=1,
  WHISPER_THREADS=1 (the default on 2 cores);
- queue x N: TRANSCRIBE_BACKEND=queue, N worker processes, each TRANSCRIBE_WORKERS=1,
  WHISPER_THREADS=1.

`--memos` voice memos (tests/fixtures/speech_0[1-8].ogg, 2-5 s each, 8 people) are sent in
the same instant once every process is up and warm; memos/min is their count over the time
from that instant to the last transcript card (the edit of its placeholder) at the server.
Queue latency is enqueue to start: the bot stamps each job when it defers it, and the worker
logs how long after that it started it: once for one memo alone before the burst (the
queue's own latency), then p50 / p95 / max over the burst's jobs. Prints one table,
and the load average before and after; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.telegram_server import TOKEN, TelegramTestServer  # noqa: E402
from tests.support.workers import workers  # noqa: E402

CLIPS = [ROOT / "tests" / "fixtures" / f"speech_0{i}.ogg" for i in range(1, 9)]
PEOPLE = range(701, 709)
ENGINE = {"WHISPER_THREADS": "1", "TRANSCRIBE_WORKERS": "1", "LOG_LEVEL": "INFO"}


def _clean_env() -> dict[str, str]:
    names = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in names}


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _wait(check, within: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


def _queued(running: list) -> list[float]:  # type: ignore[type-arg]
    """Seconds from enqueue to start of every job the workers started, in start order."""
    lines = sorted(
        line for w in running for line in w.text().splitlines() if " s after it was queued" in line
    )  # each line begins with its time stamp
    return [float(line.rsplit(", ", 1)[1].split(" s after")[0]) for line in lines]


async def layout(admin: str, memos: int, n_workers: int) -> dict[str, str]:
    """One run: a fresh database, the bot and `n_workers` workers (0: the local pool)."""
    backend = "queue" if n_workers else "local"
    with tempfile.TemporaryDirectory() as folder, databases.postgres_database(admin) as url:
        tmp = Path(folder)
        async with TelegramTestServer(token=TOKEN) as server:
            env = (
                _clean_env()
                | ENGINE
                | {
                    "PYTHONPATH": str(ROOT),
                    "TELEGRAM_BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_BASE_URL": server.root,
                    "DATABASE_URL": url,
                    "TRANSCRIBE_BACKEND": backend,
                }
            )
            log = tmp / "bot.log"
            with log.open("wb") as out:
                bot = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                    [sys.executable, "-m", "bot"], env=env, cwd=tmp, stdout=out, stderr=out
                )
            try:
                await _wait(lambda: server.calls("getUpdates"), 120, "the bot did not start")
                with workers(
                    n_workers, database_url=url, api_root=server.root, folder=tmp, **ENGINE
                ) as running:
                    await _wait(lambda: all(w.up for w in running), 180, "workers did not start")
                    # the bot warms its model as polling starts: give it a moment to finish
                    await asyncio.sleep(3 if not n_workers else 0.5)
                    people = [server.person(user_id=u) for u in PEOPLE]

                    def cards() -> list[float]:
                        return [
                            r.time
                            for r in server.requests
                            if r.method == "editMessageText" and "transcribing" not in str(r.params)
                        ]

                    # one memo alone first: the queue's own latency, with nothing ahead of it
                    server.person(user_id=700).send_voice(CLIPS[0])
                    await _wait(lambda: len(cards()) >= 1, 120, "the lone memo did not land")
                    idle = _queued(running)
                    started = time.time()
                    for i in range(memos):
                        people[i % len(people)].send_voice(CLIPS[i % len(CLIPS)])
                    await _wait(lambda: len(cards()) >= memos + 1, 900, "not every memo landed")
                    elapsed = max(cards()) - started
                    waits = _queued(running)[len(idle) :]
            finally:
                bot.terminate()
                bot.wait(timeout=60)
    name = f"queue x {n_workers}" if n_workers else "local (peer: the bot's own pool)"
    row = {"layout": name, "memos/min": f"{memos / elapsed * 60:.0f}", "all s": f"{elapsed:.1f}"}
    if idle:
        row["alone: queue s"] = f"{idle[0]:.3f}"
    if waits:
        row["queue p50 s"] = f"{statistics.median(waits):.3f}"
        row["queue p95 s"] = f"{_quantile(waits, 0.95):.3f}"
        row["queue max s"] = f"{max(waits):.3f}"
    return row


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memos", type=int, default=40)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    admin = os.environ[databases.ADMIN_URL_ENV]
    print(f"load average before: {os.getloadavg()}; {os.cpu_count()} cores", flush=True)
    rows = [await layout(admin, args.memos, 0)]
    for n in (int(x) for x in args.workers.split(",")):
        rows.append(await layout(admin, args.memos, n))
        print(rows[-1], flush=True)
    print(f"load average after: {os.getloadavg()}")
    columns = ["layout", "memos/min", "all s", "alone: queue s"]
    columns += ["queue p50 s", "queue p95 s", "queue max s"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row.get(c, "-") for c in columns) + " |")


if __name__ == "__main__":
    if databases.ADMIN_URL_ENV not in os.environ:
        script = ROOT / "tests" / "support" / "with_postgres.sh"
        env = os.environ | {"PYTHON": sys.executable}
        sys.exit(subprocess.call([str(script), sys.executable, *sys.argv], env=env))
    asyncio.run(main())
