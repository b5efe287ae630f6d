"""Memo → transcript and /recall latency, idle CPU and RSS: the real bot next to a minimal one.

    python bench/latency.py [--single 5] [--asks 40] [--rounds 3] [--idle 10] [--only between]

Each bot runs as its own subprocess (`python -m bot` on a fresh SQLite file, and the peer
bench/latency_peer.py: a ~40-line PTB bot with the same engine, faster-whisper with the
bundled tiny.en, int8, beam 5, VAD, one worker thread), long polling its own local Bot API
test server (tests/support/telegram_server.py) in this process. One after the other, so each
has the machine to itself; both in the same run.

- 5 s memo: tests/fixtures/speech_03.ogg (5.2 s), sent `--single` times by one person, each
  after the previous transcript. The time runs from the moment the voice update is queued on
  the server to the moment the bot's transcript (Between: the edit of its "transcribing…"
  placeholder; the peer: its reply) reaches the server.
- 4 at once: four people send the memo in the same instant, `--rounds` rounds at least;
  p50/p95 over every memo, "last" is the median over rounds of the time to a round's last
  transcript.
- /recall meanwhile: while each round's memos are being heard, other people (not sending
  memos) ask /recall one after another (the first ask of a round in the same instant as its
  memos), `--asks` in all; from the update queued to the answer at the server. Between's
  askers have twelve weeks of saved reflections, so the answer is a card; they take turns,
  20 asks each at most, so Between's flood guard (20 a minute) stays out of it.
- idle: after the load and a few seconds' settling, the CPU time of every thread
  (/proc/PID/task/*/schedstat, in ns; /proc/PID/stat's 10 ms ticks where that is missing)
  over `--idle` seconds of nothing, and VmRSS (/proc/PID/status).

Prints one table; asserts nothing. Takes about 1.5 minutes on two idle cores (2 when they
are busy). `--set NAME=VALUE` passes settings to both bots (e.g. WHISPER_THREADS=1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import texts  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.flood import LIMIT as FLOOD_LIMIT  # noqa: E402
from tests.support.person import Person  # noqa: E402
from tests.support.telegram_server import TOKEN, ApiRequest, TelegramTestServer  # noqa: E402

MEMO = ROOT / "tests" / "fixtures" / "speech_03.ogg"  # 5.2 s, the longest speech fixture
MEMO_SECONDS = 5
PEER = ROOT / "bench" / "latency_peer.py"
CROWD = 4
MEMO_PEOPLE = [1001, 1002, 1003, 1004]
WARM = 1099  # warms both bots up (a memo and a /recall) before anything is timed
ASKER_BASE = 2001
ANSWERS = ("sendMessage", "editMessageText")
READY_TIMEOUT = 180.0
ANSWER_TIMEOUT = 120.0
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the processes


class Proc:
    """CPU and memory of one bot subprocess, read from /proc."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pid = process.pid

    def cpu_seconds(self) -> float:
        """CPU time of every thread: schedstat's nanoseconds, else stat's clock ticks."""
        try:
            tasks = Path(f"/proc/{self.pid}/task").iterdir()
            return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
        except (OSError, ValueError, IndexError):
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime, stime

    def status(self, name: str) -> str:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
        return ""

    def rss_mb(self, name: str = "VmRSS") -> float:
        return int(self.status(name).split()[0]) / 1024

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)  # PTB's run_polling stops cleanly
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def _clean_env() -> dict[str, str]:
    """This environment without any of Between's settings (the bench sets its own)."""
    names = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in names}


async def _spawn(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> Proc:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    return Proc(process)


async def start_between(server: TelegramTestServer, tmp: Path, extra: dict[str, str]) -> Proc:
    url = f"sqlite+aiosqlite:///{tmp / 'between.db'}"
    await seed(url)
    env = _clean_env() | {
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.root,
        "DATABASE_URL": url,
        **extra,
    }
    return await _spawn([sys.executable, "-m", "bot"], env, tmp, tmp / "between.log")


async def start_peer(server: TelegramTestServer, tmp: Path, extra: dict[str, str]) -> Proc:
    argv = [sys.executable, str(PEER), server.root, TOKEN]
    return await _spawn(argv, _clean_env() | extra, tmp, tmp / "peer.log")


# --------------------------------------------------------------------------- Between's rows


async def seed(url: str) -> None:
    """Onboarded people; the askers (and the warm-up person) with a few months of reflections."""
    from storage.db import create_engine, create_sessionmaker, migrate
    from storage.models import (
        Capture,
        CaptureKind,
        CaptureStatus,
        Reflection,
        ReflectionStatus,
        TherapySession,
        Trigger,
        TriggerKind,
        TriggerStatus,
        User,
    )

    engine = create_engine(url)
    await migrate(engine)
    db = create_sessionmaker(engine)
    now = datetime.now().replace(microsecond=0)
    readers = [WARM, *range(ASKER_BASE, ASKER_BASE + 10)]
    async with db() as s, s.begin():
        for user_id in [*MEMO_PEOPLE, *readers]:
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
        await s.flush()
        for user_id in readers:
            for week in range(12):
                started = now - timedelta(days=7 * week + 1)
                session = TherapySession(
                    user_id=user_id, started_at=started, local_date=started.date()
                )
                s.add(session)
                await s.flush()
                s.add(
                    Capture(
                        user_id=user_id,
                        session_id=session.id,
                        kind=CaptureKind.TEXT,
                        status=CaptureStatus.SAVED,
                        text=f"Week {week}: I noticed I go quiet when money comes up.",
                        chat_id=user_id,
                    )
                )
                reflection = Reflection(
                    user_id=user_id,
                    session_id=session.id,
                    status=ReflectionStatus.SAVED,
                    step=4,
                    answer_what=f"I can say no without explaining myself (week {week})",
                    answer_why="Explaining makes it a negotiation.",
                    answer_do="Say no once, then wait.",
                    paragraph="I can say no without explaining myself. Explaining makes it a "
                    "negotiation. Next time: say no once, then wait.",
                    saved_at=started + timedelta(hours=3),
                )
                s.add(reflection)
                await s.flush()
                s.add(
                    Trigger(
                        user_id=user_id,
                        reflection_id=reflection.id,
                        kind=TriggerKind.SITUATION,
                        status=TriggerStatus.ACTIVE,
                        cue="when my partner brings up money",
                        keywords="partner money",
                    )
                )
    await engine.dispose()


# --------------------------------------------------------------------------- timing


def _chat_of(request: ApiRequest) -> int | None:
    try:
        return int(request.params.get("chat_id"))
    except (TypeError, ValueError):
        return None


async def answer_time(
    server: TelegramTestServer, chat_id: int, since: int, accept: Callable[[str], bool]
) -> float:
    """When (time.time()) the first answer in `chat_id` after request number `since` arrived."""
    found: list[ApiRequest] = []

    def arrived() -> bool:
        for request in server.requests[since:]:
            text = str(request.params.get("text") or "")
            if request.method in ANSWERS and _chat_of(request) == chat_id and accept(text):
                found.append(request)
                return True
        return False

    if not await server.wait_for(arrived, ANSWER_TIMEOUT):
        raise TimeoutError(f"no answer in chat {chat_id} within {ANSWER_TIMEOUT:.0f} s")
    return found[0].time


def is_transcript(text: str) -> bool:
    return "transcribing…" not in text and text != texts.SLOW_DOWN


def is_answer(text: str) -> bool:
    return text != texts.SLOW_DOWN


def send_memo(server: TelegramTestServer, person: Person, memo: bytes) -> tuple[int, float]:
    since = len(server.requests)
    person.send_voice(memo, duration=MEMO_SECONDS)
    return since, time.time()  # queued; the bot can fetch it once this loop yields


async def memo_latency(server: TelegramTestServer, person: Person, memo: bytes) -> float:
    since, sent = send_memo(server, person, memo)
    return await answer_time(server, person.user_id, since, is_transcript) - sent


async def recall_latency(server: TelegramTestServer, person: Person) -> float:
    since = len(server.requests)
    person.send_command("/recall")
    sent = time.time()
    return await answer_time(server, person.user_id, since, is_answer) - sent


@dataclass
class Figures:
    name: str
    single: list[float] = field(default_factory=list)
    crowd: list[float] = field(default_factory=list)
    crowd_last: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    idle_cpu: float = 0.0
    rss_mb: float = 0.0
    peak_mb: float = 0.0
    threads: str = ""
    seconds: float = 0.0


async def measure(name: str, args: argparse.Namespace, extra: dict[str, str]) -> Figures:
    figures = Figures(name)
    started = time.perf_counter()
    memo = MEMO.read_bytes()
    with tempfile.TemporaryDirectory(prefix="between-latency-") as tmp:
        async with TelegramTestServer(token=TOKEN) as server:
            people = [server.person(user_id=i, first_name=f"P{i}") for i in MEMO_PEOPLE]
            askers = [
                server.person(user_id=ASKER_BASE + i, first_name=f"Asker{i}")
                for i in range(max(1, math.ceil(args.asks / FLOOD_LIMIT)))
            ]
            warm = server.person(user_id=WARM, first_name="Warm")
            start = start_between if name == "Between" else start_peer
            proc = await start(server, Path(tmp), extra)
            try:
                await _run(server, proc, people, askers, warm, memo, args, figures)
            except BaseException:
                log = Path(tmp) / ("between.log" if name == "Between" else "peer.log")
                print(f"--- {name} failed; the end of its log:", file=sys.stderr)
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
                raise
            finally:
                await proc.stop()
    figures.seconds = time.perf_counter() - started
    return figures


async def _run(
    server: TelegramTestServer,
    proc: Proc,
    people: list[Person],
    askers: list[Person],
    warm: Person,
    memo: bytes,
    args: argparse.Namespace,
    figures: Figures,
) -> None:
    await server.wait_for_call("getUpdates", timeout=READY_TIMEOUT)
    await memo_latency(server, warm, memo)  # warm-up: first decode, first DB queries
    await recall_latency(server, warm)
    for _ in range(args.single):
        figures.single.append(await memo_latency(server, people[0], memo))
        await asyncio.sleep(0.3)
    asked = 0
    rounds = 0
    while rounds < args.rounds or asked < args.asks:
        sends = [send_memo(server, person, memo) for person in people[:CROWD]]
        memos = [
            asyncio.ensure_future(answer_time(server, person.user_id, since, is_transcript))
            for person, (since, _) in zip(people, sends, strict=False)
        ]
        pending = asyncio.gather(*memos)
        while not pending.done() and asked < args.asks:
            figures.recall.append(await recall_latency(server, askers[asked % len(askers)]))
            asked += 1
            await asyncio.sleep(args.ask_gap)
        arrived = await pending
        took = [t - sent for t, (_, sent) in zip(arrived, sends, strict=True)]
        figures.crowd.extend(took)
        figures.crowd_last.append(max(took))
        rounds += 1
        await asyncio.sleep(1.0)
    await asyncio.sleep(args.settle)
    before = proc.cpu_seconds()
    await asyncio.sleep(args.idle)
    figures.idle_cpu = (proc.cpu_seconds() - before) / args.idle * 100
    figures.rss_mb = proc.rss_mb()
    figures.peak_mb = proc.rss_mb("VmHWM")
    figures.threads = proc.status("Threads")


# --------------------------------------------------------------------------- the table


def quantile(samples: list[float], q: float) -> float:
    """Nearest-rank quantile (p99 of 40 asks is the 40th, i.e. the slowest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _s(seconds: float) -> str:
    return f"{seconds:6.2f} s"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"


def table(rows: list[Figures], args: argparse.Namespace) -> str:
    head = (
        f"{'':<9} {'5 s memo, 1 person':<19} {'4 at once':<28} {'/recall meanwhile':<19} idle\n"
        f"{'bot':<9} {'p50':>8} {'p95':>9}  {'p50':>8} {'p95':>9} {'last':>9}  "
        f"{'p50':>9} {'p99':>9}  {'CPU %':>6} {'RSS MB':>7}"
    )
    lines = [head]
    for f in rows:
        lines.append(
            f"{f.name:<9} {_s(statistics.median(f.single))} {_s(quantile(f.single, 0.95))}  "
            f"{_s(statistics.median(f.crowd))} {_s(quantile(f.crowd, 0.95))} "
            f"{_s(statistics.median(f.crowd_last))}  "
            f"{_ms(statistics.median(f.recall))} {_ms(quantile(f.recall, 0.99))}  "
            f"{f.idle_cpu:6.2f} {f.rss_mb:7.0f}"
        )
    lines.append(
        f"({args.single} single memos, {len(rows[0].crowd) // CROWD} rounds of {CROWD}, "
        f"{len(rows[0].recall)} /recall asks, idle over {args.idle:.0f} s; "
        + "; ".join(
            f"{f.name}: peak RSS {f.peak_mb:.0f} MB, {f.threads} threads, {f.seconds:.0f} s"
            for f in rows
        )
        + ")"
    )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=5, help="memos from one person")
    parser.add_argument("--asks", type=int, default=40, help="/recall asks during the rounds")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 4 memos at least")
    parser.add_argument("--ask-gap", type=float, default=0.05, help="seconds between asks")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before idle starts")
    parser.add_argument("--only", choices=["between", "peer"], help="measure one bot")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for both bot processes (e.g. WHISPER_THREADS=1)",
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.set)
    rows = []
    for name in ("Between", "peer"):
        if args.only in (None, name.lower()):
            rows.append(await measure(name, args, extra))
    print(f"memo {MEMO.name} ({MEMO_SECONDS} s), {os.cpu_count()} CPUs, {date.today()}")
    print(table(rows, args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
