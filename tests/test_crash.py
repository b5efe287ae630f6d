"""Crash safety: `python -m bot` killed with SIGKILL mid-transcription and mid-reflection.

The bot runs as a real subprocess against the test server in this test's event loop, on the
test's database (conftest's `database_url`: an SQLite file in tmp_path, or PostgreSQL). After
the kill a second process starts on the same database: the memo is transcribed without being
sent again, and the reflection goes on at the same question.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.databases import read_rows
from tests.support.eventually import eventually
from tests.support.telegram_server import TOKEN, TelegramTestServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SPEECH: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())
Q2, Q3 = "Why does it matter", "What does the changed version of me do"


class BotProcess:
    """One `python -m bot` run; its output goes to a log file for when a test fails."""

    def __init__(
        self, server: TelegramTestServer, tmp_path: Path, database_url: str, name: str
    ) -> None:
        self.log = tmp_path / f"{name}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "DATABASE"))}
        self.env = {
            **base,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": server.root,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
        }
        self.cwd = tmp_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.terminate()
        try:
            return await asyncio.to_thread(self.proc.wait, 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@asynccontextmanager
async def bot_process(
    server: TelegramTestServer, tmp_path: Path, database_url: str, name: str, run: int
) -> AsyncIterator[BotProcess]:
    """Starts the bot and waits until it is polling (its `run`-th setMyCommands)."""
    bot = BotProcess(server, tmp_path, database_url, name)
    bot.start()
    try:
        try:
            await server.wait_for_call("setMyCommands", n=run, timeout=90)
        except TimeoutError:
            raise AssertionError(f"bot did not start:\n{bot.output()}") from None
        yield bot
    finally:
        await bot.stop()


def query(database_url: str, sql: str) -> list[tuple]:
    """Reads the bot's database directly (another process may be writing it)."""
    return read_rows(database_url, sql)


async def test_killed_during_a_transcription_the_memo_is_transcribed_after_restart(
    server: TelegramTestServer, tmp_path: Path, database_url: str
) -> None:
    alice = server.person(user_id=101, first_name="Alice")
    async with bot_process(server, tmp_path, database_url, "first", run=1) as first:
        server.delay_next("download", 120)  # the download hangs: the kill lands mid-way
        alice.send_voice(FIXTURES / "speech_02.ogg")
        placeholder = await alice.next_message(timeout=30)
        assert "transcribing" in placeholder.text
        assert await server.wait_for(lambda: bool(server.downloads), 30)
        first.kill()
    rows = query(database_url, "SELECT status, attempts, text FROM captures")
    assert rows == [("pending", 1, None)]  # committed before the slow step

    async with bot_process(server, tmp_path, database_url, "second", run=2) as second:
        done = await alice.next_edit(timeout=60)  # the placeholder itself carries the text
        assert done.message_id == placeholder.message_id, second.output()
        assert done.text.startswith("Your memo from earlier is transcribed now:"), second.output()
        assert "partner" in done.text.lower() and "money" in done.text.lower()
        rows = query(database_url, "SELECT status, text FROM captures")
        assert len(rows) == 1 and rows[0][0] == "transcribed"  # not stored twice
        alice.command("help")
        assert "/recall" in (await alice.next_message(timeout=15)).text
    assert len(server.downloads) == 2


async def test_killed_during_a_reflection_it_resumes_at_the_same_question(
    server: TelegramTestServer, tmp_path: Path, database_url: str
) -> None:
    alice = server.person(user_id=101, first_name="Alice")
    async with bot_process(server, tmp_path, database_url, "first", run=1) as first:
        alice.send_text("I can say no without explaining myself")
        await alice.next_message(timeout=30)
        alice.command("reflect")
        for _ in range(3):  # the cue, how it works, question 1
            await alice.next_message()
        alice.send_text("no is a full sentence")
        assert Q2 in (await alice.next_message()).text

        def saved() -> bool:
            step = query(database_url, "SELECT step FROM reflections")
            state = query(
                database_url, "SELECT state FROM conversation_states WHERE name='reflection'"
            )
            return step == [(2,)] and bool(state) and state[0][0] is not None

        assert await eventually(saved), first.output()  # what a person sees is also on disk
        first.kill()

    async with bot_process(server, tmp_path, database_url, "second", run=2) as second:
        alice.send_text("I stop apologising for my plans")
        answer = await alice.next_message(timeout=30)
        assert Q3 in answer.text, second.output()
        alice.send_text("I turn down the extra shift")
        review = await alice.next_message()
        assert (
            "No is a full sentence. I stop apologising for my plans. "
            "I turn down the extra shift." in review.text
        )
        assert query(database_url, "SELECT count(*), max(step) FROM reflections") == [(1, 4)]
