"""bot/retry.py: answers to a person's update skip the fan-out budget, fan-out keeps it."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from telegram import Chat, Message, Update, User

from bot.ordering import PerPersonOrder
from bot.retry import FanOutJobQueue, RetryingRateLimiter, answering, outside_budget

BUDGET = 2  # sends a minute: the third one outside an answer waits for the next minute


async def sent(**data: Any) -> bool:
    return True


def send(limiter: RetryingRateLimiter, chat_id: int) -> asyncio.Task[Any]:
    data = {"chat_id": chat_id, "text": "x"}
    call = limiter.process_request(sent, (), data, "sendMessage", data, None)
    return asyncio.ensure_future(call)


def limiter(**kwargs: Any) -> RetryingRateLimiter:
    return RetryingRateLimiter(overall_max_rate=BUDGET, overall_time_period=60, **kwargs)


async def test_answers_pass_while_fan_out_waits_for_the_budget() -> None:
    budget = limiter()
    await asyncio.gather(*(send(budget, 101 + i) for i in range(BUDGET)))  # a ping each
    held = send(budget, 200)  # the next ping waits for the next minute
    with answering():
        answers = [send(budget, 300 + i) for i in range(10)]  # tasks inherit the mark
    assert await asyncio.gather(*answers) == [True] * 10
    assert not held.done()
    held.cancel()


async def test_answers_in_groups_and_with_the_old_setting_stay_in_the_budget() -> None:
    for budget, chat_id in ((limiter(), -100), (limiter(answers_budgeted=True), 101)):
        with answering():
            calls = [send(budget, chat_id) for _ in range(BUDGET + 1)]
            meanwhile = send(limiter(), 300)  # an answer in a private chat, another limiter
        assert await asyncio.gather(meanwhile, *calls[:BUDGET]) == [True] * (BUDGET + 1)
        assert not calls[BUDGET].done()
        calls[BUDGET].cancel()


async def test_every_update_is_handled_as_an_answer() -> None:
    marks: list[bool] = []
    chat = Chat(101, "private")
    message = Message(1, dt.datetime.now(dt.UTC), chat, from_user=User(101, "P", is_bot=False))

    async def handled() -> None:
        budget = limiter()
        await asyncio.gather(*(send(budget, 101) for _ in range(BUDGET + 1)))
        marks.append(True)

    await PerPersonOrder().do_process_update(Update(1, message=message), handled())
    assert marks == [True]


async def test_a_job_started_while_answering_sends_within_the_budget() -> None:
    seen: list[bool] = []

    class Job:
        async def run(self, application: object) -> None:
            seen.append(outside_budget({"chat_id": 101}))

    class Queue:
        application = None

    with answering():  # as when a handler's add_job woke APScheduler's timer
        await FanOutJobQueue.job_callback(Queue(), Job())
        seen.append(outside_budget({"chat_id": 101}))
    assert seen == [False, True]
