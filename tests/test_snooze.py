"""Later under a ping or the evening prompt, end to end over real HTTP: it comes back once.

Once is shown without waiting for silence: after the snoozed message arrived its row is
gone and no snooze job is left, so nothing could send it again; the messages are counted
at the test server.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot import texts
from bot.jobs import evening, reschedule_user, snooze, trigger
from storage.models import Recall, Snooze, SnoozeKind, Trigger, User
from storage.sessions import utcnow
from tests.support.eventually import eventually
from tests.support.rows import (
    Db,
    add_reflection,
    add_user,
    db_of,
    recalls_of,
    settled,
    triggers_of,
)
from tests.support.telegram_server import BotMessage, TelegramTestServer

HEADLINE = "I can say no"
OUR_LOGGERS = ("bot.", "handlers.", "storage.")


async def snoozes_of(db: Db, user_id: int) -> list[Snooze]:
    async with db() as s:
        rows = await s.scalars(select(Snooze).where(Snooze.user_id == user_id).order_by(Snooze.id))
        return list(rows)


async def _due_now(db: Db, snooze_id: int, ago: timedelta = timedelta(seconds=1)) -> None:
    """Moves a snooze's due time into the past (as if its 20 minutes were up)."""
    async with db() as s, s.begin():
        await s.execute(update(Snooze).where(Snooze.id == snooze_id).values(due_at=utcnow() - ago))


def _no_snooze_jobs(app, user_id: int) -> bool:  # type: ignore[no-untyped-def]
    return not [
        j
        for j in app.job_queue.jobs()
        if j.user_id == user_id and (j.name or "").startswith(snooze.JOB_PREFIX)
    ]


async def _all_sent(app, db: Db, user_id: int) -> bool:  # type: ignore[no-untyped-def]
    """No snooze row and no snooze job left: nothing can be sent again."""
    return not await snoozes_of(db, user_id) and _no_snooze_jobs(app, user_id)


async def _with_message(db: Db, user_id: int, message_id: int) -> list[Recall] | None:
    """The person's recalls once the newest one has its message id stored (after the send)."""
    rows = await recalls_of(db, user_id)
    return rows if rows and rows[-1].message_id == message_id else None


def _count(server: TelegramTestServer, user_id: int, start: str) -> int:
    """Messages the bot sent to this chat starting with `start`, at the server."""
    return sum((m.text or "").startswith(start) for m in server.chat(user_id).sent)


async def _ping(app, server: TelegramTestServer, user_id: int) -> BotMessage:  # type: ignore[no-untyped-def]
    """A person with a paragraph and a daily trigger whose ping is sent now."""
    db = db_of(app)
    await add_user(db, user_id, followup_hours=24)
    await add_reflection(db, user_id, HEADLINE, "It protects my evenings.", "I leave at six.")
    alice = server.person(user_id=user_id)
    hour = (datetime.now(UTC) + timedelta(hours=12)).hour  # the next firing is hours away
    alice.command("trigger", "every", "day", "at", f"{hour}:00", "morning", "walk")
    assert (await alice.next_message()).text.startswith("Set: ")
    (row,) = await triggers_of(db, user_id)
    async with db() as s, s.begin():
        await s.execute(
            update(Trigger)
            .where(Trigger.id == row.id)
            .values(next_fire_at=utcnow() - timedelta(seconds=1))
        )
    assert await trigger.send(app, user_id, row.id) is not None
    ping = await alice.next_message()
    assert ping.text.startswith(HEADLINE)
    return ping


async def test_a_snoozed_ping_comes_back_once_and_can_be_snoozed_again(
    server: TelegramTestServer, start_bot, log_records: pytest.LogCaptureFixture
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        ping = await _ping(app, server, 901)
        alice = server.person(user_id=901)
        (first,) = await recalls_of(db, 901)
        assert ping.buttons[1][:2] == [
            ("💤 20 min", f"sz:p:{first.id}:20"),
            ("💤 1 h", f"sz:p:{first.id}:60"),
        ]

        alice.press("💤 20 min", ping)
        edit = await alice.next_edit()
        assert edit.message_id == ping.message_id
        assert edit.text.startswith("💤 Okay, later. I'll send this again ")
        assert edit.buttons == []
        assert alice.callback_answers[-1]["text"].startswith("Back ")
        (row,) = await snoozes_of(db, 901)
        assert (row.kind, row.trigger_id) == (SnoozeKind.PING, first.trigger_id)
        assert utcnow() + timedelta(minutes=19) < row.due_at <= utcnow() + timedelta(minutes=20)
        assert (await recalls_of(db, 901))[0].followup_due_at is None  # asked after it's back

        # /triggers shows it is coming back, and when
        alice.command("triggers")
        listing = await alice.next_message()
        assert "Coming back later:" in listing.text
        assert "💤 " in listing.text and "morning walk: back " in listing.text

        await _due_now(db, row.id)
        await reschedule_user(app, 901)  # what a restart does: the job, from the row
        again = await alice.next_message()
        assert again.text == ping.text
        assert await eventually(lambda: _all_sent(app, db, 901))
        assert _count(server, 901, HEADLINE) == 2
        assert await snooze.send(app, 901, row.id) is False  # a racing job finds nothing
        first, second = await settled(lambda: _with_message(db, 901, again.message_id))
        assert second.trigger_id == first.trigger_id  # a new Recall of the same trigger

        # the ping sent again carries Later again: snoozing twice works
        assert ("💤 1 h", f"sz:p:{second.id}:60") in again.buttons[1]
        alice.press("💤 1 h", again)
        assert (await alice.next_edit()).text.startswith("💤 Okay, later.")
        (row,) = await snoozes_of(db, 901)
        await _due_now(db, row.id)
        await reschedule_user(app, 901)
        third = await alice.next_message()
        assert third.text == ping.text
        assert await eventually(lambda: _all_sent(app, db, 901))
        assert _count(server, 901, HEADLINE) == 3
        assert len(await recalls_of(db, 901)) == 3
    ours = [r.getMessage() for r in log_records.records if r.name.startswith(OUR_LOGGERS)]
    assert any("snooze" in line for line in ours)
    assert not [line for line in ours if HEADLINE in line or "morning walk" in line]  # ids only


async def test_a_snoozed_ping_survives_a_restart_and_comes_once(
    server: TelegramTestServer, start_bot
) -> None:
    alice = server.person(user_id=902)
    async with start_bot() as app:
        db = db_of(app)
        ping = await _ping(app, server, 902)
        alice.press("💤 20 min", ping)
        await alice.next_edit()
        (row,) = await snoozes_of(db, 902)
        (trg,) = await triggers_of(db, 902)
    # the bot is down when the 20 minutes are up (well within SNOOZE_GRACE); and a second
    # snooze of the same person was due hours ago, beyond the grace: dropped, never sent
    async with db() as s, s.begin():
        await s.execute(
            update(Snooze).where(Snooze.id == row.id).values(due_at=utcnow() - timedelta(minutes=5))
        )
        s.add(
            Snooze(
                user_id=902,
                kind=SnoozeKind.EVENING,
                due_at=utcnow() - snooze.SNOOZE_GRACE - timedelta(minutes=1),
            )
        )
    async with start_bot() as app:
        db = db_of(app)
        again = await alice.next_message()
        assert again.text == ping.text
        assert await eventually(lambda: _all_sent(app, db, 902))
        assert _count(server, 902, HEADLINE) == 2
        assert _count(server, 902, "It's the evening") == 0
    async with start_bot() as app:  # another restart sends nothing: there is nothing left
        db = db_of(app)
        assert await _all_sent(app, db, 902)
        assert _count(server, 902, HEADLINE) == 2
        assert len(await recalls_of(db, 902)) == 2
        assert (await triggers_of(db, 902))[0].fire_count == trg.fire_count  # not a firing


async def test_racing_snooze_jobs_send_it_once(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        db = db_of(app)
        ping = await _ping(app, server, 903)
        alice = server.person(user_id=903)
        alice.press("💤 20 min", ping)
        await alice.next_edit()
        (row,) = await snoozes_of(db, 903)
        await _due_now(db, row.id)
        results = await asyncio.gather(*(snooze.send(app, 903, row.id) for _ in range(4)))
        assert sorted(results) == [False, False, False, True]
        await alice.next_message()
        assert _count(server, 903, HEADLINE) == 2
        assert await snooze.send(app, 904, row.id) is False  # never someone else's


def _zone_at(local_hour: int) -> tuple[str, ZoneInfo]:
    """A whole-hour fixed-offset zone where it is `local_hour`:xx now."""
    hours = (local_hour - datetime.now(UTC).hour + 12) % 24 - 12
    name = "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    return name, ZoneInfo(name)


async def test_a_snoozed_evening_prompt_comes_back_once(
    server: TelegramTestServer, start_bot
) -> None:
    name, tz = _zone_at(15)  # therapy at 00:00 today, the evening an hour ago
    an_hour_ago = datetime.now(tz) - timedelta(hours=1)
    today = an_hour_ago.date()
    async with start_bot() as app:
        db = db_of(app)
        async with db() as s, s.begin():
            s.add(
                User(
                    id=911,
                    chat_id=911,
                    timezone=name,
                    therapy_weekday=an_hour_ago.weekday(),
                    therapy_time=time(0, 0),
                    evening_time=an_hour_ago.time().replace(microsecond=0),
                    onboarded=True,
                )
            )
        async with db() as s:
            user = await s.get(User, 911)
        assert user is not None
        evening.schedule(app, user, catch_up=True)  # what startup does: the missed prompt now
        frank = server.person(user_id=911)
        prompt = await frank.next_message()
        assert prompt.text.startswith("It's the evening after your session")
        day = f"{today:%Y%m%d}"
        # its evening time has passed, so there is no "Tonight"
        assert prompt.buttons[1] == [("💤 20 min", f"sz:e:{day}:20"), ("💤 1 h", f"sz:e:{day}:60")]

        frank.press_raw(f"sz:e:{day}:t", prompt.message_id)  # "tonight", too late
        await server.wait_for_call("answerCallbackQuery")
        assert await eventually(lambda: len(frank.callback_answers) == 1)
        assert frank.callback_answers[0]["text"] == texts.SNOOZE_NO_TONIGHT
        assert await snoozes_of(db, 911) == []

        frank.press("💤 1 h", prompt)
        assert (await frank.next_edit()).text.startswith("💤 Okay, later.")
        (row,) = await snoozes_of(db, 911)
        assert (row.kind, row.trigger_id) == (SnoozeKind.EVENING, None)
        frank.command("triggers")
        listing = await frank.next_message()
        assert "💤 The evening questions: back " in listing.text

        await _due_now(db, row.id)
        await reschedule_user(app, 911)
        again = await frank.next_message()
        assert again.text == prompt.text
        assert again.buttons == prompt.buttons  # Start, and Later again
        assert await eventually(lambda: _all_sent(app, db, 911))
        assert _count(server, 911, "It's the evening") == 2

        frank.press("Start", again)  # the prompt sent again starts the questions
        assert "Nothing was captured" in (await frank.next_message()).text
