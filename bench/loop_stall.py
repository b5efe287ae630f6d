"""Worker layouts against the cores: memo latency, 4 memos at once, and event-loop pauses.

    python bench/loop_stall.py [--repeat 3]

For each layout (transcription workers x CPU threads per worker) the bot's real
`FasterWhisperTranscriber` (default settings otherwise: short window, int8, beam 5) is
loaded once in this process, then per repeat: one 5 s memo alone, and four at once (the
time until the last lands). Meanwhile a ticker coroutine sleeps 10 ms at a time and records
how late each wake-up is: another person's message waits about that long for the loop. The
peer row is the same ticker on an idle loop for as long (this machine's own noise right
now). Prints medians over the repeats; asserts nothing. The functional check (other work runs
while memos are transcribed) is in tests/test_transcription.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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


LAYOUTS = [(1, 0), (2, 1), (1, 1), (4, 1)]  # (workers, threads per worker; 0 = every core)
# the bot's default: one worker, every core but one (bot/config.Settings.threads)
MEMO = "speech_07.ogg"


async def layout(workers: int, threads: int, repeat: int) -> dict[str, float]:
    from bot.config import load_settings
    from bot.transcription import FasterWhisperTranscriber, resolve_model

    model = resolve_model(load_settings(_env_file=None))
    transcriber = FasterWhisperTranscriber(model, cpu_threads=threads, workers=workers)
    memo = (FIXTURES / MEMO).read_bytes()
    alone: list[float] = []
    last: list[float] = []
    gaps: list[float] = []
    idle: list[float] = []
    try:
        await transcriber.warm()
        for _ in range(repeat):
            started = time.perf_counter()
            await transcriber.transcribe(memo)
            alone.append(time.perf_counter() - started)
            started = time.perf_counter()
            work = asyncio.ensure_future(  # noqa: RUF006 - awaited below
                asyncio.gather(*(transcriber.transcribe(memo) for _ in range(4)))
            )
            gaps += await _tick_while(work, 0)
            await work
            last.append(time.perf_counter() - started)
            idle += await _tick_while(None, last[-1])
    finally:
        transcriber.close()
    return {
        "alone": statistics.median(alone),
        "last": statistics.median(last),
        "max": max(gaps),
        "p99": statistics.quantiles(gaps, n=100)[98],
        "idle max": max(idle),
        "idle p99": statistics.quantiles(idle, n=100)[98],
    }


async def main(repeat: int) -> None:
    sys.path.insert(0, str(ROOT))
    cores = os.cpu_count() or 1
    print(f"{cores} cores; 5 s memo ({MEMO}); median of {repeat} repeats; loop pauses in ms")
    print(
        f"{'workers x threads':<18}{'1 memo s':>9}{'4 at once: last s':>19}"
        f"{'loop max':>10}{'loop p99':>10}{'idle max':>10}{'idle p99':>10}"
    )
    for workers, threads in LAYOUTS:
        figures = await layout(workers, threads, repeat)
        name = f"{workers} x {threads or cores}" + (
            " (default)" if (workers, threads) == (1, 0) else ""
        )
        print(
            f"{name:<18}{figures['alone']:>9.3f}{figures['last']:>19.3f}"
            f"{figures['max'] * 1000:>10.1f}{figures['p99'] * 1000:>10.1f}"
            f"{figures['idle max'] * 1000:>10.1f}{figures['idle p99'] * 1000:>10.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
