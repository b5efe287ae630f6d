"""How long the event loop pauses while memos are transcribed, next to an idle loop's pauses.

    python bench/loop_stall.py [--repeat 3]

A ticker coroutine sleeps 10 ms at a time and records how late each wake-up is. It runs
twice per repeat in the same process: while two memos are transcribed at once through the
bot's real `Transcriber` (the figure the bot's users feel: another person's message waits at
most about this long), then alone for as long again (the peer figure: what this machine's
load and the scheduler cost an idle loop right now). Prints both; asserts nothing. The
functional check (other work runs while memos are transcribed) is in
tests/test_transcription.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TICK = 0.01


async def _tick_while(work: asyncio.Future[object] | None, seconds: float) -> list[float]:
    """Gaps between ticker wake-ups until `work` is done (or for `seconds` when None)."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    end = loop.time() + seconds
    last = time.perf_counter()
    while (work is not None and not work.done()) or (work is None and loop.time() < end):
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    return gaps


def _row(name: str, gaps: list[float]) -> str:
    return (
        f"{name:<14} ticks {len(gaps):>5}  max gap {max(gaps) * 1000:7.1f} ms  "
        f"p99 {statistics.quantiles(gaps, n=100)[98] * 1000:6.1f} ms  "
        f"median {statistics.median(gaps) * 1000:5.1f} ms"
    )


async def main(repeat: int) -> None:
    sys.path.insert(0, str(ROOT))
    from bot.config import load_settings
    from bot.transcription import build_transcriber

    transcriber = build_transcriber(load_settings(_env_file=None))
    clips = [FIXTURES / "speech_03.ogg", (FIXTURES / "speech_05.ogg").read_bytes()]
    try:
        await transcriber.transcribe(clips[0])  # warm up
        for run in range(1, repeat + 1):
            started = time.perf_counter()
            work = asyncio.ensure_future(
                asyncio.gather(*(transcriber.transcribe(clip) for clip in clips))
            )
            busy = await _tick_while(work, 0)
            await work
            seconds = time.perf_counter() - started
            idle = await _tick_while(None, seconds)  # the peer: same length, no work
            print(f"run {run}: two memos transcribed together in {seconds:.2f} s")
            print("  " + _row("idle loop", idle))
            print("  " + _row("transcribing", busy))
    finally:
        transcriber.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
