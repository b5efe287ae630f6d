"""Per-person flood control: past 20 messages a minute, one kind "slow down", nothing dropped.

A TypeHandler right after the access guard counts each person's new messages in a sliding
window held in memory (ids and timestamps only). The message that goes over the limit gets
one reply; further ones in the same window get none. Every update still goes on to the
flows, so what the person sent is stored as always.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from telegram import Update
from telegram.ext import TypeHandler

from bot import texts
from bot.context import BetweenApp, BotContext
from handlers.common import reply

logger = logging.getLogger(__name__)

GROUP = -9  # after the access guard (-10), before everything else
LIMIT = 20  # messages per window; the 21st gets the one "slow down"
WINDOW = 60.0  # seconds
FORGET_AFTER = 1000  # people tracked before idle ones are forgotten


class FloodGuard:
    """Counts messages per person in a sliding window; says "slow down" once per window."""

    def __init__(
        self,
        limit: int = LIMIT,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._recent: dict[int, deque[float]] = {}  # the last limit+1 message times per person
        self._quiet_until: dict[int, float] = {}  # no second warning before this time

    def over_limit(self, user_id: int) -> bool:
        """Records one message; True when this one should get the "slow down" reply."""
        now = self.clock()
        recent = self._recent.get(user_id)
        if recent is None:
            if len(self._recent) >= FORGET_AFTER:
                self._forget_idle(now)
            recent = self._recent[user_id] = deque(maxlen=self.limit + 1)
        recent.append(now)
        flooding = len(recent) > self.limit and now - recent[0] < self.window
        if not flooding or now < self._quiet_until.get(user_id, 0.0):
            return False
        self._quiet_until[user_id] = now + self.window
        return True

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, times in self._recent.items() if now - times[-1] > self.window]:
            del self._recent[user_id]
            self._quiet_until.pop(user_id, None)

    async def __call__(self, update: Update, context: BotContext) -> None:
        """Counts a new message and asks the person to slow down once when they flood."""
        user = update.effective_user
        if update.message is None or user is None:
            return
        if self.over_limit(user.id):
            logger.info("user %s sent over %d messages in %.0f s", user.id, self.limit, self.window)
            await reply(update, texts.SLOW_DOWN)


def register(application: BetweenApp) -> None:
    """Adds the flood guard right after the access guard; it never stops an update."""
    application.add_handler(TypeHandler(Update, FloodGuard()), group=GROUP)
