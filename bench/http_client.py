"""The bot's HTTP transport: CPU per Bot API request, PTB's HTTPXRequest next to ours.

    python bench/http_client.py [--requests 400] [--rounds 2]

A small aiohttp server in a subprocess answers every POST with a sendMessage-sized result;
this process sends `sendMessage`-like forms through each transport with 1, 8 and 64 requests
in flight (64: bot/ordering.py's limit of updates handled at once, each answering once) and
reports this process's CPU (user + sys) per request and the wall time per request. Transports
alternate round by round, so both see the same machine. Prints one table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram.request import BaseRequest, HTTPXRequest, RequestData  # noqa: E402
from telegram.request._requestparameter import RequestParameter  # noqa: E402

from bot.http_client import AiohttpRequest  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

SERVER = """
import sys
from aiohttp import web
RESULT = {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
          "text": "Saved to your Thu 3 Dec session." * 3}}
async def answer(request):
    await request.read()
    return web.json_response(RESULT)
app = web.Application()
app.router.add_post("/{tail:.*}", answer)
ready = lambda *_: print("ready", flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=ready)
"""
IN_FLIGHT = (1, 8, 64)
TRANSPORTS = ("PTB HTTPXRequest", "AiohttpRequest")


def make(name: str) -> BaseRequest:
    # the bot's pool: PTB's default of 256 connections either way
    return HTTPXRequest(connection_pool_size=256) if name == TRANSPORTS[0] else AiohttpRequest()


def form() -> RequestData:
    keyboard = '{"inline_keyboard": [[{"text": "★", "callback_data": "cap:land:12"}]]}'
    values = {"chat_id": 3001, "text": "I noticed that I say sorry " * 4, "reply_markup": keyboard}
    return RequestData([RequestParameter.from_input(k, v) for k, v in values.items()])


async def measure(
    request: BaseRequest, url: str, count: int, in_flight: int
) -> tuple[float, float]:
    """(CPU ms per request, wall ms per request) for `count` requests, `in_flight` at a time."""
    gate = asyncio.Semaphore(in_flight)
    data = form()

    async def one() -> None:
        async with gate:
            await request.post(url, request_data=data)

    await asyncio.gather(*(one() for _ in range(min(count, 64))))  # warm: connections open
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return (time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000


async def run(url: str, requests: int, rounds: int) -> None:
    cpu: dict[tuple[str, int], list[float]] = {}
    wall: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for name in TRANSPORTS:
            request = make(name)
            await request.initialize()
            try:
                for n in IN_FLIGHT:
                    c, w = await measure(request, url, requests, n)
                    cpu.setdefault((name, n), []).append(c)
                    wall.setdefault((name, n), []).append(w)
            finally:
                await request.shutdown()
    print(f"{requests} sendMessage forms per cell, median of {rounds} rounds (ms per request)")
    print(f"{'transport':<18}" + "".join(f"  {n:>2} in flight: CPU  wall" for n in IN_FLIGHT))
    for name in TRANSPORTS:
        cells = [
            f"{statistics.median(cpu[name, n]):15.2f} {statistics.median(wall[name, n]):5.2f}"
            for n in IN_FLIGHT
        ]
        print(f"{name:<18}" + "".join(f"{cell:>27}" for cell in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "ready"
        asyncio.run(run(f"http://127.0.0.1:{port}/bot1:x/sendMessage", args.requests, args.rounds))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
