"""Queue workers as real processes: `python -m bot worker` against the test's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.telegram_server import TOKEN


class WorkerProcess:
    """One `python -m bot worker` subprocess and its log file."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def count(self, needle: str) -> int:
        return self.text().count(needle)

    @property
    def up(self) -> bool:
        return "worker up" in self.text()

    @property
    def in_hand(self) -> int:
        """Jobs started and not yet ended, from its own log lines."""
        return self.count(": started (attempt") - self.count(": done, ")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no unregistering, the job in hand left as it is."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._out.close()


@contextmanager
def workers(
    count: int, *, database_url: str, api_root: str, folder: Path, **settings: str
) -> Iterator[list[WorkerProcess]]:
    """Starts `count` worker processes (settings as environment variables), stops them after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BETWEEN_", "PYTEST"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api_root,
        DATABASE_URL=database_url,
        TRANSCRIBE_BACKEND="queue",
        WHISPER_THREADS="1",
        LOG_LEVEL="INFO",
    )
    env.update({k.upper(): v for k, v in settings.items()})
    started = [WorkerProcess(f"w{i}", env, folder / f"worker{i}.log") for i in range(1, count + 1)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()
