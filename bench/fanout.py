"""Fan-out: N people with a time trigger due in the same minute, the real bot over real HTTP.

    python bench/fanout.py [--people 10000] [--jobs 10000,100000] [--runs ...] [--quick]

Pings: every run is a fresh process. It seeds an SQLite file in bulk (N people in UTC, each
with a saved reflection and a daily time trigger at the same minute, a little ahead), starts
the real bot (bot.app's Application: post_init with jobs.rebuild_all, the real JobQueue, long
polling, logging at INFO as in production) against tests/support/telegram_server.py running
in a process of its own, and lets APScheduler fire the triggers. The server counts sendMessage
per chat: lost (a person without their ping) and duplicated (a second one) should both be 0,
and each ping must carry that person's own paragraph (else it counts as misdirected). Also:
seconds from the due minute to the first and the last ping, and the bot process's CPU time
(from just before the due minute to the last ping) per ping.

    bot         the bot as shipped: RetryingRateLimiter, i.e. PTB's AIORateLimiter at Telegram's
                limit of 30 messages/s, so N/30 s is the floor whatever the bot does
    bot-raised  the same bot with the limiter's flood limits off (its retries kept)
    peer        the peer: a bare PTB Application whose JobQueue runs one run_once per chat, each
                sending a message of the same shape through the same server, no database; like
                the bot's jobs, at most FIRINGS_AT_ONCE at a time and no misfire grace (no
                flood limit)
    peer-30     the peer behind PTB's AIORateLimiter as well (run only if named in --runs)
    peer-naive  run_once as PTB's defaults have it: every send at once, and APScheduler's 1 s
                misfire grace, so a job that starts more than 1 s late is skipped (run only if
                named in --runs: of 10,000 at once, thousands are skipped or time out in
                httpx's pool of 256 connections)

The test server has no rate limit of its own (it only injects faults when told to).

Memory per scheduled job: in a fresh process each, the growth of RSS from an empty, started
JobQueue to one holding --jobs jobs, registered through the bot's own per-row function
(`bot.jobs.trigger.schedule`, what rebuild_all does for every active trigger) and, as the
peer, with bare `JobQueue.run_once`; for the first count also tracemalloc's traced memory
(it slows registering about tenfold). Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_ID = 5_000_001  # people are FIRST_ID, FIRST_ID + 1, ...
STALL = 30.0  # seconds without a new ping before a run gives up waiting for the rest
SETTLE = 3.0  # seconds to wait after the last ping, for duplicates
RUNS = {
    "bot": "bot, as shipped (30 msg/s limiter)",
    "bot-raised": "bot, limiter's flood limits off",
    "peer": "peer: PTB run_once, 16 at once",
    "peer-30": "peer: PTB run_once, AIORateLimiter",
    "peer-naive": "peer: PTB run_once, PTB defaults",
}


def marker(chat_id: int) -> str:
    """What only this person's ping says (their headline ends with it)."""
    return f"#{chat_id}#"


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- the server


async def serve(people: int) -> None:
    """The test server for `people` chats; answers `count`, `final` and `quit` on stdin."""
    from tests.support.telegram_server import TOKEN, TelegramTestServer

    server = await TelegramTestServer(token=TOKEN).start()
    for chat_id in range(FIRST_ID, FIRST_ID + people):
        server.person(user_id=chat_id, first_name=f"P{chat_id}")
    print(json.dumps({"root": server.root}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "quit":
            break
        sends = [r for r in server.requests if r.method == "sendMessage"]
        if line == "count":
            print(sum(r.status == 200 for r in sends), flush=True)
            continue
        pings: Counter[int] = Counter()
        times: list[float] = []
        misdirected = failed = 0
        for r in sends:
            if r.status != 200:
                failed += 1
                continue
            chat_id = int(r.params["chat_id"])
            if marker(chat_id) in str(r.params.get("text", "")):
                pings[chat_id] += 1
                times.append(r.time)
            else:
                misdirected += 1  # someone else's paragraph, or not a ping at all
        final = {
            "lost": people - len(pings),
            "dup": sum(n - 1 for n in pings.values()),
            "misdirected": misdirected,
            "failed": failed,
            "first": min(times, default=None),
            "last": max(times, default=None),
        }
        print(json.dumps(final), flush=True)
    await server.stop()


class ServerProcess:
    """tests/support/telegram_server.py in a process of its own (its CPU is not the bot's)."""

    async def start(self, people: int) -> str:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            "server",
            "--people",
            str(people),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return str(json.loads(await self._line())["root"])

    async def _line(self) -> str:
        assert self.proc.stdout is not None
        return (await self.proc.stdout.readline()).decode()

    async def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()
        return json.loads(await self._line())

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"quit\n")
        await self.proc.stdin.drain()
        await self.proc.wait()


# --------------------------------------------------------------------------- one ping run


def due_minute(lead: float) -> datetime:
    """The first whole minute at least `lead` seconds from now (aware UTC)."""
    at = datetime.now(UTC) + timedelta(seconds=lead)
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def seed(url: str, people: int, due: datetime) -> None:
    """N onboarded people in UTC, each with a saved reflection and a daily trigger at `due`."""
    from sqlalchemy import insert

    from storage.db import create_engine, migrate
    from storage.models import (
        Reflection,
        ReflectionStatus,
        TherapySession,
        Trigger,
        TriggerKind,
        TriggerStatus,
        User,
    )
    from storage.sessions import utcnow

    engine = create_engine(url)
    await migrate(engine)
    now = utcnow()
    ids = list(range(FIRST_ID, FIRST_ID + people))
    rows = {
        User: [
            {"id": uid, "chat_id": uid, "timezone": "UTC", "onboarded": True}
            | {"evening_time": None, "followup_hours": 24.0}
            for uid in ids
        ],
        TherapySession: [
            {"id": n, "user_id": uid, "started_at": now - timedelta(days=1)}
            | {"local_date": (now - timedelta(days=1)).date(), "slot": f"own:{n}"}
            for n, uid in enumerate(ids, 1)
        ],
        Reflection: [
            {"id": n, "user_id": uid, "session_id": n, "version": 1, "step": 4}
            | {"status": ReflectionStatus.SAVED, "saved_at": now}
            | {"answer_what": f"I can pause before I answer {marker(uid)}"}
            | {"answer_why": "It keeps my evenings mine.", "answer_do": "I say: let me think."}
            | {"paragraph": "I can pause before I answer. It keeps my evenings mine."}
            for n, uid in enumerate(ids, 1)
        ],
        Trigger: [
            {"id": n, "user_id": uid, "reflection_id": n, "kind": TriggerKind.TIME}
            | {"status": TriggerStatus.ACTIVE, "recurrence": "daily", "at_time": due.time()}
            | {"next_fire_at": due.replace(tzinfo=None), "cue": "morning walk"}
            | {"fire_count": 0, "missed_count": 0}
            for n, uid in enumerate(ids, 1)
        ],
    }
    async with engine.begin() as conn:
        for model, values in rows.items():
            for start in range(0, len(values), 5000):
                await conn.execute(insert(model), values[start : start + 5000])
    await engine.dispose()


class _NoModel:
    """No Whisper model: nothing here is transcribed (post_init loads none when one is set)."""

    def close(self) -> None:
        pass


async def start_bot(root: str, url: str, raised: bool) -> Any:
    """The real Application started as `run_polling` starts it; flood limits off if `raised`."""
    from unittest.mock import patch

    from telegram import Update

    from bot import app as composition
    from bot.config import load_settings
    from bot.context import Services
    from bot.retry import RetryingRateLimiter
    from tests.support.telegram_server import TOKEN

    settings = load_settings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=root,
        database_url=url,
        log_level="INFO",
        _env_file=None,
    )
    services = Services(settings=settings, transcriber=_NoModel())  # type: ignore[arg-type]

    def limiter(**kwargs: Any) -> RetryingRateLimiter:
        return RetryingRateLimiter(overall_max_rate=0, group_max_rate=0, **kwargs)

    if raised:
        with patch.object(composition, "RetryingRateLimiter", limiter):
            app = composition.build_application(settings, services)
    else:
        app = composition.build_application(settings, services)
    await app.initialize()
    await app.post_init(app)
    await app.updater.start_polling(
        poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
    )
    await app.start()
    return app


async def stop_app(app: Any) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


async def _peer_send(context: Any) -> None:
    chat_id = context.job.chat_id
    async with context.bot_data["slots"]:
        await _peer_message(context.bot, chat_id)


async def _peer_message(bot: Any, chat_id: int) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    await bot.send_message(
        chat_id,
        f"<b>I can pause before I answer {marker(chat_id)}</b>\n\n"
        "I can pause before I answer. It keeps my evenings mine.\n\n"
        "⏰ every day at 09:00 (UTC time) — morning walk",
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("I read it", callback_data=f"rc:read:{chat_id}")]]
        ),
    )


async def start_peer(root: str, people: int, due: datetime, who: str) -> Any:
    from telegram import Update
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    from bot.context import FIRINGS_AT_ONCE
    from tests.support.telegram_server import TOKEN

    builder = ApplicationBuilder().token(TOKEN).base_url(f"{root}/bot")
    if who == "peer-30":
        builder = builder.rate_limiter(AIORateLimiter())
    app = builder.build()
    naive = who == "peer-naive"
    app.bot_data["slots"] = asyncio.Semaphore(people if naive else FIRINGS_AT_ONCE)
    grace = {} if naive else {"misfire_grace_time": None}
    await app.initialize()
    for chat_id in range(FIRST_ID, FIRST_ID + people):
        name = f"ping:{chat_id}"
        app.job_queue.run_once(_peer_send, due, chat_id=chat_id, name=name, job_kwargs=grace)
    await app.updater.start_polling(
        poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
    )
    await app.start()
    return app


async def ping_run(who: str, people: int, lead: float | None) -> dict[str, Any]:
    from bot.__main__ import configure_logging

    configure_logging("INFO")  # what `python -m bot` logs, to this child's stderr (a file)
    server = ServerProcess()
    root = await server.start(people)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "between.db"
        url = f"sqlite+aiosqlite:///{db_path}"
        if lead is None:  # the bot seeds and starts (rebuild_all: ~8 ms a person here) first
            lead = 20 + people * (0.015 if who.startswith("bot") else 0.001)
        due = due_minute(lead)
        started = time.perf_counter()
        if who.startswith("bot"):
            await seed(url, people, due)
            seeded = time.perf_counter() - started
            app = await start_bot(root, url, raised=who == "bot-raised")
        else:
            seeded = 0.0
            app = await start_peer(root, people, due, who)
        startup = time.perf_counter() - started - seeded
        late_start = time.time() > due.timestamp()
        await asyncio.sleep(max(0.0, due.timestamp() - time.time() - 0.5))
        cpu0, loop0, rss0 = time.process_time(), time.thread_time(), rss_bytes()
        count, progress_at = 0, time.monotonic()
        cpu1, loop1 = cpu0, loop0
        while count < people and time.monotonic() - progress_at < STALL:
            await asyncio.sleep(0.25)
            now_count = int(await server.ask("count"))
            if now_count != count:
                count, progress_at = now_count, time.monotonic()
                cpu1, loop1 = time.process_time(), time.thread_time()
        stalled = count < people
        await asyncio.sleep(SETTLE)
        final = await server.ask("final")
        rss1 = rss_bytes()
        await stop_app(app)
        await server.stop()
        recorded = recalls = None
        if who.startswith("bot"):
            with sqlite3.connect(db_path) as con:
                recorded = con.execute("SELECT SUM(fire_count) FROM triggers").fetchone()[0]
                recalls = con.execute("SELECT COUNT(*) FROM recalls").fetchone()[0]
    pinged = people - final["lost"]
    span = (final["last"] - due.timestamp()) if final["last"] else None
    return {
        **final,
        "who": who,
        "people": people,
        "seed_s": seeded,
        "startup_s": startup,
        "late_start": late_start,
        "first_s": (final["first"] - due.timestamp()) if final["first"] else None,
        "all_s": span,
        "rate": pinged / span if span else None,
        "cpu_ms_per_ping": (cpu1 - cpu0) * 1000 / max(1, pinged + final["dup"]),
        "loop_ms_per_ping": (loop1 - loop0) * 1000 / max(1, pinged + final["dup"]),
        "rss_growth_mb": (rss1 - rss0) / 2**20,
        "stalled": stalled,
        "recorded": recorded,
        "recalls": recalls,
    }


# --------------------------------------------------------------------------- memory per job


async def _noop(context: Any) -> None:
    pass


async def memory_run(who: str, jobs: int, traced: bool) -> dict[str, Any]:
    """Registers `jobs` jobs on a started, empty JobQueue; the growth of RSS or traced memory."""
    import tracemalloc

    from telegram.ext import ApplicationBuilder

    from bot.app import build_application
    from bot.config import load_settings
    from bot.jobs import trigger
    from storage.models import Trigger, TriggerKind, TriggerStatus
    from tests.support.telegram_server import TOKEN

    if who == "bot":
        app: Any = build_application(load_settings(telegram_bot_token=TOKEN, _env_file=None))
    else:
        app = ApplicationBuilder().token(TOKEN).build()
    await app.job_queue.start()
    when = datetime.now(UTC) + timedelta(days=1)
    rows = [
        Trigger(
            id=n,
            user_id=FIRST_ID + n,
            kind=TriggerKind.TIME,
            status=TriggerStatus.ACTIVE,
            next_fire_at=when.replace(tzinfo=None),
        )
        for n in range(1, jobs + 1)
    ]
    await asyncio.sleep(0.05)
    gc.collect()
    if traced:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0] if traced else rss_bytes()
    started = time.perf_counter()
    for n, row in enumerate(rows):
        if who == "bot":
            trigger.schedule(app, row, row.user_id)
        else:
            uid = row.user_id
            app.job_queue.run_once(_noop, when=when, name=f"job:{n}", user_id=uid, chat_id=uid)
        if n % 100 == 0:
            await asyncio.sleep(0)  # as rebuild_all does between people (it awaits the database)
    took = time.perf_counter() - started
    await asyncio.sleep(0.05)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if traced else rss_bytes()
    held = len(app.job_queue.scheduler.get_jobs())
    await app.job_queue.stop(wait=False)
    return {"who": who, "jobs": jobs, "held": held, "bytes": after - before, "seconds": took}


# --------------------------------------------------------------------------- orchestration


def child(args: list[str], log: Path | None = None) -> dict[str, Any] | None:
    """Runs this file with `args` in a fresh process; its last stdout line is the result."""
    stderr = log.open("w") if log else subprocess.PIPE
    try:
        done = subprocess.run(
            [sys.executable, __file__, *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            check=False,
        )
    finally:
        if log:
            stderr.close()  # type: ignore[union-attr]
    if done.returncode != 0 or not done.stdout.strip():
        tail = log.read_text()[-2000:] if log else done.stderr[-2000:]
        print(f"  child {' '.join(args)} failed ({done.returncode}):\n{tail}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def log_summary(log: Path) -> str:
    """How many WARNING/ERROR lines the run logged, by logger and words (ids left out)."""
    found: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split(" ", 4)
        if len(parts) == 5 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
            words = [w for w in parts[4].split() if not any(c.isdigit() for c in w)]
            found[f"{parts[2]} {parts[3]} {' '.join(words[:6])}"] += 1
    return "; ".join(f"{n}× {what}" for what, n in found.most_common(4)) or "none"


def _f(value: float | None, spec: str) -> str:
    """`value` in `spec` ("8.2f"), or a dash as wide."""
    return "—".rjust(int(spec.split(".")[0])) if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--jobs", default="10000,100000", help="job counts for memory per job")
    parser.add_argument("--runs", default="bot,bot-raised,peer", help=",".join(RUNS))
    parser.add_argument("--quick", action="store_true", help="300 people, 1000,10000 jobs")
    parser.add_argument("--lead", type=float, help="seconds from start to the due minute")
    parser.add_argument("--child", choices=("server", "ping", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--who", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.people, args.jobs = 300, "1000,10000"
    if args.child == "server":
        asyncio.run(serve(args.people))
        return
    if args.child == "ping":
        print(json.dumps(asyncio.run(ping_run(args.who, args.people, args.lead))))
        return
    if args.child == "memory":
        print(json.dumps(asyncio.run(memory_run(args.who, int(args.jobs), args.traced))))
        return

    began = time.perf_counter()
    runs = [r for r in args.runs.split(",") if r]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for who in runs:
            print(f"running {who} ({args.people} people)...", file=sys.stderr, flush=True)
            log = Path(tmp) / f"{who}.log"
            ping = ["--people", str(args.people)]
            ping += [] if args.lead is None else ["--lead", str(args.lead)]
            result = child(["--child", "ping", "--who", who, *ping], log)
            if result is not None:
                result["log"] = log_summary(log)
                results.append(result)
    memory = []
    for n, jobs in enumerate(int(j) for j in args.jobs.split(",") if j):
        for who in ("bot", "peer"):
            print(f"memory: {who}, {jobs} jobs...", file=sys.stderr, flush=True)
            rss = child(["--child", "memory", "--who", who, "--jobs", str(jobs)])
            # tracemalloc slows registering ~10x: it checks RSS at the first count only
            traced = None
            if n == 0:
                traced = child(["--child", "memory", "--who", who, "--jobs", str(jobs), "--traced"])
            if rss is not None:
                memory.append((rss, traced))

    print(
        f"\n{args.people} people, one daily time trigger each, all due in the same minute "
        "(test server: no rate limit)"
    )
    print(
        f"{'run':<36} {'lost':>5} {'dup':>4} {'startup s':>9} {'first s':>8} "
        f"{'all sent s':>10} {'pings/s':>8} {'CPU ms/ping':>11} {'loop ms':>7}"
    )
    for r in results:
        print(
            f"{RUNS[r['who']]:<36} {r['lost']:>5} {r['dup']:>4} {r['startup_s']:>9.1f} "
            f"{_f(r['first_s'], '8.2f')} {_f(r['all_s'], '10.1f')} {_f(r['rate'], '8.1f')} "
            f"{r['cpu_ms_per_ping']:>11.2f} {r['loop_ms_per_ping']:>7.2f}"
        )
    print(
        f"floor at Telegram's 30 messages/s: {args.people / 30:.1f} s. CPU: the process (database"
        " threads included) from the due minute to the last ping; loop: its event-loop thread"
    )
    for r in results:
        notes = [f"seeded in {r['seed_s']:.1f} s"] if r["who"].startswith("bot") else []
        if r["recorded"] is not None:
            notes.append(f"firings recorded {r['recorded']}, recalls {r['recalls']}")
        if r["misdirected"] or r["failed"]:
            notes.append(f"misdirected {r['misdirected']}, failed requests {r['failed']}")
        if r["stalled"]:
            notes.append(f"gave up after {STALL:.0f} s without a new ping")
        if r["late_start"]:
            notes.append("startup ran past the due minute")
        notes.append(f"RSS +{r['rss_growth_mb']:.0f} MB")
        notes.append(f"logged: {r['log']}")
        print(f"  {r['who']}: " + "; ".join(notes))

    if memory:
        print("\nmemory per scheduled job, from a started empty JobQueue (fresh process each)")
        print(
            f"{'jobs':>7}  {'registered with':<30} {'KB/job RSS':>10} {'KB/job traced':>13}"
            f" {'µs/job':>7}"
        )
        for rss, traced in memory:
            what = (
                "bot: jobs.trigger.schedule" if rss["who"] == "bot" else "peer: JobQueue.run_once"
            )
            jobs = rss["jobs"]
            kb_traced = None if traced is None else traced["bytes"] / jobs / 1024
            print(
                f"{jobs:>7}  {what:<30} {rss['bytes'] / jobs / 1024:>10.2f} "
                f"{_f(kb_traced, '13.2f')} {rss['seconds'] / jobs * 1e6:>7.1f}"
                + ("" if rss["held"] == jobs else f"  (holds {rss['held']} jobs)")
            )
    print(f"\nbench ran {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
