"""`python -m demo` (what `make demo` runs): Between in this terminal, no Telegram needed.

python -m demo                          a fresh demo; the clock starts now
python -m demo --start 2026-12-01T17:55+01:00   the clock starts there (scripts, tests)
python -m demo --data DIR               demo.db, demo.log and received files in DIR (./data)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bot.__main__ import CONTENT_LOGGERS, NOISY_LOGGERS
from bot.errors import BetweenError
from demo.console import Console
from demo.session import Demo

T = TypeVar("T")


def configure_logging(path: Path) -> None:
    """The bot's logs go to a file (ids, sizes, timings; never content), not into the chat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        filename=path,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    for name in (*NOISY_LOGGERS, "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)


def read_start(text: str) -> dt.datetime:
    """An ISO date and time; one without an offset is UTC."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=read_start, help="where the demo clock starts (ISO)")
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder (./data)")
    args = parser.parse_args(argv)
    configure_logging(args.data / "demo.log")
    console = Console()
    demo = Demo(args.data, args.start, console)

    # The bot runs on an event loop in a second thread; the person types on this one, where
    # input() has readline's editing and history (console.py).
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="demo event loop", daemon=True)
    thread.start()

    def run(work: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(work, loop)
        try:
            return future.result()
        except KeyboardInterrupt:  # Ctrl-C while the bot works: stop that work, then end
            future.cancel()
            raise

    status = 0
    try:
        console.show(["Starting the bot and loading the speech model…"])
        run(demo.start())
        console.show(demo.banner())
        while (line := console.read()) is not None and run(demo.handle(line)):
            pass
    except KeyboardInterrupt:
        console.show([""])
    except BetweenError as exc:
        console.show([f"Between: {exc}"])
        status = 1
    finally:
        try:
            run(demo.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
    console.show(["Demo over. The conversation stays in " + str(args.data / "demo.db") + "."])
    return status


if __name__ == "__main__":
    sys.exit(main())
