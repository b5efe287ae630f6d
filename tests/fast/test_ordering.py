"""bot/ordering.py: different people at once, one person's updates in order."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import Chat, Message, Update, User

from bot.ordering import PerPersonOrder
from tests.support.fast import FastBot
from tests.support.rows import add_user, captures, db_of


def update(update_id: int, user_id: int) -> Update:
    chat = Chat(user_id, "private")
    sender = User(user_id, "P", is_bot=False)
    message = Message(update_id, dt.datetime.now(dt.UTC), chat, from_user=sender, text="hi")
    return Update(update_id, message=message)


async def test_one_person_waits_for_their_own_update_not_for_others() -> None:
    order = PerPersonOrder()
    events: list[str] = []
    release = asyncio.Event()

    async def slow(name: str) -> None:
        events.append(f"{name} start")
        await release.wait()
        events.append(f"{name} end")

    async def quick(name: str) -> None:
        events.append(name)

    a1 = asyncio.create_task(order.process_update(update(1, 101), slow("a1")))
    a2 = asyncio.create_task(order.process_update(update(2, 101), quick("a2")))
    b1 = asyncio.create_task(order.process_update(update(3, 202), quick("b1")))
    await b1  # another person is not held up by a1
    assert events == ["a1 start", "b1"]
    assert not a2.done()  # the same person's next update waits for the first
    release.set()
    await asyncio.gather(a1, a2)
    assert events == ["a1 start", "b1", "a1 end", "a2"]
    assert order.waiting() == 0  # locks are forgotten once nobody waits


async def test_a_burst_from_one_person_is_kept_in_order(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101, tz="UTC")
    alice = bot.person()
    said = [f"sentence number {n} about what landed today" for n in range(12)]
    for text in said:
        await bot.feed(alice.send_text(text))
    await bot.settle()
    assert [c.text for c in await captures(bot.app, 101)] == said
