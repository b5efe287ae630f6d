"""Per-person flood control: one "slow down" past 20 messages a minute, every message kept."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.flood import FloodGuard
from storage.models import Capture
from tests.support.telegram_server import TelegramTestServer

SLOW = "slow down"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_warns_once_per_window_and_per_person() -> None:
    clock = Clock()
    guard = FloodGuard(limit=20, window=60.0, clock=clock)
    warnings = []
    for i in range(30):  # 30 messages in 29 s: only the 21st is answered
        clock.now = 1000.0 + i
        warnings.append(guard.over_limit(1))
    assert [i for i, warned in enumerate(warnings) if warned] == [20]
    assert guard.over_limit(2) is False  # someone else is counted on their own
    for i in range(30, 100):  # still one a second: one more warning a minute after the first
        clock.now = 1000.0 + i
        warnings.append(guard.over_limit(1))
    assert [i for i, warned in enumerate(warnings) if warned] == [20, 80]


def test_twenty_a_minute_spread_out_never_warns() -> None:
    clock = Clock()
    guard = FloodGuard(limit=20, window=60.0, clock=clock)
    for i in range(200):  # one every 3.1 s: at most 20 in any minute
        clock.now = 1000.0 + i * 3.1
        assert guard.over_limit(7) is False


async def test_flooding_gets_one_slow_down_and_every_message_is_stored(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        bob = server.person(user_id=202, first_name="Bob")
        for i in range(25):
            alice.send_text(f"flood line {i}")
        bob.send_text("bob is calm")
        replies = [(await alice.next_message(timeout=20)).text for _ in range(26)]
        assert sum(SLOW in text for text in replies) == 1
        slow = next(i for i, text in enumerate(replies) if SLOW in text)
        assert "flood line 20" in replies[slow + 1]  # the 21st is warned about, then kept
        assert await alice.no_message_within(0.5)
        assert SLOW not in (await bob.next_message()).text
        async with app.bot_data.sessionmaker() as s:
            stored = await s.scalar(
                select(func.count()).select_from(Capture).where(Capture.user_id == 101)
            )
        assert stored == 25
        alice.command("help")
        assert "/recall" in (await alice.next_message()).text
