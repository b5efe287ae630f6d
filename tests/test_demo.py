"""`make demo` driven through its terminal (a stdin pipe), one whole loop with the real model.

The demo runs as `python -m demo` in a temporary folder, as a person would type into it:
onboarding, the sample voice memo, the evening prompt after /wait, the reflection, a time
trigger, the ping after /wait, /recall, and the digest's PDF saved to a file. Its clock starts
at a fixed instant (--start) so the days it shows are known.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.support.eventually import eventually

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
WITHIN = 240.0  # the model loads and transcribes on a busy 2-core machine


class Terminal:
    """The demo's stdin and stdout: type a line, then wait for text to appear after it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = ""
        self.mark = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(4096):
            self.output += chunk.decode()

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.mark = len(self.output)
        self.process.stdin.write(line.encode() + b"\n")

    async def shows(self, *texts: str) -> str:
        """The output since the last line typed, once it holds every one of `texts`."""
        await eventually(
            lambda: all(t in self.output[self.mark :] for t in texts) or self._reader.done(),
            within=WITHIN,
        )
        since = self.output[self.mark :]
        missing = [t for t in texts if t not in since]
        assert not missing, f"{missing} not shown; the demo printed:\n{self.output}"
        return since

    def button(self, since: str, label: str) -> str:
        """The number the demo shows for the button `label` in `since`."""
        found = re.findall(r"\[(\d+)\] " + re.escape(label), since)
        assert found, f"no button {label!r} in:\n{since}"
        return found[-1]


@pytest.fixture
async def terminal(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo",
        "--start",
        "2026-12-01T17:55+01:00",  # Tue 1 Dec, just after a 17:00 session in Berlin
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    term = Terminal(process)
    try:
        yield term
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await term._reader


async def test_one_week_loop_through_the_demo_terminal(terminal: Terminal, tmp_path: Path) -> None:
    # the sample shipped with the demo is a fixture whose words are known
    assert (ROOT / "demo" / "sample.ogg").read_bytes() == (FIXTURES / "speech_03.ogg").read_bytes()
    sample = json.loads((FIXTURES / "speech.json").read_text())["speech_03.ogg"]
    await terminal.shows("Begin with /start.")

    terminal.type("/start")
    since = await terminal.shows("which time zone")
    terminal.type(terminal.button(since, "Berlin"))
    await terminal.shows("Time zone set: Europe/Berlin", "When is your therapy session?")
    terminal.type("tue 17:00")
    await terminal.shows("every Tuesday at 17:00", "[k1] 🔁 Recall")

    # capture by voice: the sample memo, transcribed by the real model, marked as what landed
    terminal.type("/voice sample")
    since = await terminal.shows("Saved to your Tue 1 Dec session.", "★ This is what landed")
    words = ("landed", "say no", "without explaining")
    assert all(w in sample.lower() and w in since.lower() for w in words), since
    terminal.type(terminal.button(since, "★ This is what landed"))
    await terminal.shows("★ What landed ✓")

    # the evening prompt after /wait, and the reflection it starts
    terminal.type("/wait until 20:31")
    since = await terminal.shows("[Tue 1 Dec 20:30] Between", "It's the evening after", "⏱ ")
    terminal.type(terminal.button(since, "Start"))
    await terminal.shows("What was the thing?")
    terminal.type("I can say no without a reason")
    await terminal.shows("Why does it matter")
    terminal.type("Saying yes to everything wears me out")
    await terminal.shows("What does the changed version of me do")
    terminal.type("Turn down the extra shift on Friday")
    since = await terminal.shows("Here it is, in your own words", "✓ Save")
    terminal.type(terminal.button(since, "✓ Save"))
    await terminal.shows("Saved.")

    # a trigger, and its ping once the clock is moved to it
    terminal.type("/trigger thu 08:00 morning walk")
    await terminal.shows("Thursday 3 Dec, 08:00", "morning walk")
    terminal.type("/wait until thu 08:00")
    since = await terminal.shows("[Thu 3 Dec 08:00] Between", "Turn down the extra shift", "⏱ ")
    assert "morning walk" in since

    # recall, by command and by the keyboard button
    terminal.type("/recall")
    await terminal.shows("I can say no without a reason", "Turn down the extra shift")
    terminal.type("k1")
    await terminal.shows("Saying yes to everything wears me out")

    # the digest the evening before the next session, and its page saved to a file
    terminal.type("/wait until mon 20:31")
    since = await terminal.shows("Tomorrow is your session", ".pdf", "⏱ ")
    saved = re.search(r"saved to (\S+\.pdf)", since)
    assert saved is not None, since
    assert (tmp_path / saved[1]).read_bytes().startswith(b"%PDF")

    terminal.type("/quit")
    await terminal.shows("Demo over.")
    assert await terminal.process.wait() == 0
    assert (tmp_path / "data" / "demo.db").is_file()
    assert not (tmp_path / "data" / "between.db").exists()
