"""`python -m bot` as a real subprocess against the test server, on the test's database.

Its output goes to a log file, shown when a test fails. Used by the crash tests (killed with
SIGKILL mid-work) and the scheduler failover test (several replicas on one database).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.telegram_server import TOKEN, TelegramTestServer

ROOT = Path(__file__).resolve().parent.parent.parent


class BotProcess:
    """One `python -m bot` run; its output goes to a log file for when a test fails."""

    def __init__(
        self,
        server: TelegramTestServer,
        tmp_path: Path,
        database_url: str,
        name: str,
        env: dict[str, str] | None = None,
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
            **(env or {}),
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
    server: TelegramTestServer,
    tmp_path: Path,
    database_url: str,
    name: str,
    run: int,
    env: dict[str, str] | None = None,
) -> AsyncIterator[BotProcess]:
    """Starts the bot and waits until it is polling (its `run`-th setMyCommands)."""
    bot = BotProcess(server, tmp_path, database_url, name, env)
    bot.start()
    try:
        try:
            await server.wait_for_call("setMyCommands", n=run, timeout=90)
        except TimeoutError:
            raise AssertionError(f"bot did not start:\n{bot.output()}") from None
        yield bot
    finally:
        await bot.stop()
