"""The one way tests wait: poll a condition until it holds or a deadline passes.

No test sleeps for a fixed time; a test that needs something to have happened in the
background asks `await eventually(check)` and asserts the result.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

POLL = 0.05  # seconds between checks


async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 20.0) -> bool:
    """True as soon as `check()` (sync or async) holds; False if it still fails after `within`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(POLL)
