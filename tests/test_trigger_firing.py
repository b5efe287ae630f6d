"""Time triggers fire once: on time, after a restart across the due time, never twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.clock import zone_of
from bot.jobs import reschedule_user, trigger
from storage.models import RecallSource, Trigger, TriggerStatus
from storage.sessions import utcnow
from tests.support.rows import (
    add_reflection,
    add_user,
    db_of,
    open_db,
    recalls_of,
    settled,
    triggers_of,
)
from tests.support.telegram_server import TelegramTestServer

BERLIN = ZoneInfo("Europe/Berlin")  # add_user's default zone
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


async def _set_due(db, trigger_id: int, due: datetime, **values: object) -> None:  # type: ignore[no-untyped-def]
    async with db() as s, s.begin():
        await s.execute(
            update(Trigger).where(Trigger.id == trigger_id).values(next_fire_at=due, **values)
        )


async def test_a_time_trigger_pings_once_with_the_paragraph(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 801, tz="Asia/Kolkata", followup_hours=24)
        rid = await add_reflection(
            db, 801, "I can say no", "It protects my evenings.", "I leave at six."
        )
        alice = server.person(user_id=801)
        alice.command("trigger", "in", "0.04", "minutes", "morning", "walk")  # 2.4 s ahead
        assert (await alice.next_message()).text.startswith("Set: ")
        (row,) = await triggers_of(db, 801)
        assert row.next_fire_at is not None and row.next_fire_at > utcnow()

        ping = await alice.next_message(timeout=8)
        assert ping.parse_mode == "HTML"
        assert ping.text.startswith("I can say no\n\nI can say no It protects my evenings.")
        assert "⏰ " in ping.text and "Kolkata time — morning walk" in ping.text
        assert ping.button_texts[:3] == ["I read it", "💤 20 min", "💤 1 h"]  # and Later
        assert await alice.no_message_within(2.0)  # once
        (row,) = await triggers_of(db, 801)
        assert (row.status, row.fire_count, row.next_fire_at) == (TriggerStatus.DONE, 1, None)
        (recall,) = await settled(lambda: recalls_of(db, 801))
        assert (recall.source, recall.trigger_id, recall.reflection_id) == (
            RecallSource.PING,
            row.id,
            rid,
        )
        assert await settled(lambda: _message_of(db, 801, ping.message_id)), (
            "the ping's message id is stored"
        )

        alice.press("I read it", ping)
        edit = await alice.next_edit()
        assert edit.message.button_texts == ["It helped", "Didn't help"]
        (recall,) = await recalls_of(db, 801)
        assert recall.read_at is not None
        alice.send_text("It worked on the walk.", reply_to=ping)  # a reply to the ping counts
        assert "Kept" in (await alice.next_message()).text
        (recall,) = await recalls_of(db, 801)
        assert recall.outcome == "It worked on the walk."


async def _message_of(db, user_id: int, message_id: int) -> bool:  # type: ignore[no-untyped-def]
    return any(r.message_id == message_id for r in await recalls_of(db, user_id))


async def test_a_ping_due_while_the_bot_is_down_arrives_once_after_restart(
    server: TelegramTestServer, start_bot
) -> None:
    alice = server.person(user_id=802)
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 802, followup_hours=24)
        await add_reflection(db, 802, "Rest is not a prize")
        alice.command("trigger", "in", "0.04", "minutes")  # due 2.4 s from now
        assert (await alice.next_message()).text.startswith("Set: ")
        (row,) = await triggers_of(db, 802)
        due = row.next_fire_at
    # the bot is down across the due time
    assert due is not None
    assert await alice.no_message_within(max(0.0, (due - utcnow()).total_seconds()) + 0.5)
    async with start_bot() as app:
        ping = await alice.next_message(timeout=5)
        assert ping.text.startswith("Rest is not a prize")
        assert await alice.no_message_within(1.5)
        (row,) = await triggers_of(db_of(app), 802)
        assert (row.status, row.fire_count, row.missed_count) == (TriggerStatus.DONE, 1, 0)
    async with start_bot() as app:  # a second restart sends nothing
        assert await alice.no_message_within(1.5)
        assert len(await recalls_of(db_of(app), 802)) == 1


async def test_missed_beyond_grace_is_counted_and_told_once(
    server: TelegramTestServer, start_bot, tmp_path: Path
) -> None:
    engine, db = await open_db(tmp_path)
    await add_user(db, 803, followup_hours=24)
    rid = await add_reflection(db, 803, "I can stay in the room")
    now = utcnow()
    # the daily one is at the wall time it was missed at: its next firing is ~17 h away
    missed_at = (now - timedelta(hours=7)).replace(tzinfo=UTC).astimezone(BERLIN)
    async with db() as s, s.begin():
        for recurrence, weekdays in (("once", None), ("daily", "0,1,2,3,4,5,6")):
            s.add(
                Trigger(
                    user_id=803,
                    reflection_id=rid,
                    kind="time",
                    status=TriggerStatus.ACTIVE,
                    recurrence=recurrence,
                    weekdays=weekdays,
                    at_time=missed_at.time().replace(second=0, microsecond=0),
                    once_at=now - timedelta(hours=7) if recurrence == "once" else None,
                    next_fire_at=now - timedelta(hours=7),
                    cue="morning walk" if recurrence == "once" else "daily",
                )
            )
    await engine.dispose()
    alice = server.person(user_id=803)
    async with start_bot() as app:
        note = await alice.next_message()
        assert note.text.startswith("I was offline when 2 of your moments came (")
        assert "morning walk" in note.text and "/recall" in note.text
        assert await alice.no_message_within(1.0)  # no late pings beyond the grace period
        once, daily = await triggers_of(db_of(app), 803)
        assert (once.status, once.missed_count, once.fire_count) == (TriggerStatus.DONE, 1, 0)
        assert (daily.status, daily.missed_count) == (TriggerStatus.ACTIVE, 1)
        assert daily.next_fire_at is not None and daily.next_fire_at > utcnow()
        assert await recalls_of(db_of(app), 803) == []
    async with start_bot():
        assert await alice.no_message_within(1.0)


async def test_a_recurring_ping_within_grace_fires_now_and_moves_on(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 804, tz="America/Los_Angeles", followup_hours=24)
        await add_reflection(db, 804, "I can say no")
        alice = server.person(user_id=804)
        # an hour of day ~12 h away, so the next firing never falls inside the test
        hour = (datetime.now(LOS_ANGELES) + timedelta(hours=12)).hour
        alice.command("trigger", "every", "day", "at", f"{hour}:00")
        await alice.next_message()
        (row,) = await triggers_of(db, 804)
        await _set_due(db, row.id, utcnow() - timedelta(hours=2))  # as if missed 2 h ago
        await reschedule_user(app, 804)
        ping = await alice.next_message(timeout=5)
        assert ping.text.startswith("I can say no")
        assert await alice.no_message_within(1.0)
        (row,) = await triggers_of(db, 804)
        assert (row.status, row.fire_count) == (TriggerStatus.ACTIVE, 1)
        local = row.next_fire_at.replace(tzinfo=UTC).astimezone(zone_of(_user(804)))
        assert local.time() == time(hour, 0) and row.next_fire_at > utcnow()


def _user(user_id: int, tz: str = "America/Los_Angeles"):  # type: ignore[no-untyped-def]
    from storage.models import User

    return User(id=user_id, chat_id=user_id, timezone=tz)


async def test_racing_firings_send_one_ping(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 805, followup_hours=24)
        await add_reflection(db, 805, "I can say no")
        alice = server.person(user_id=805)
        alice.command("trigger", "tomorrow", "9:00")
        await alice.next_message()
        (row,) = await triggers_of(db, 805)
        await _set_due(db, row.id, utcnow() - timedelta(seconds=1))
        results = await asyncio.gather(
            *(trigger.send(app, 805, row.id) for _ in range(4)), return_exceptions=True
        )
        assert sum(isinstance(r, int) for r in results) == 1, results
        assert all(r is None or isinstance(r, int) for r in results), results
        await alice.next_message()
        assert await alice.no_message_within(1.0)
        assert len(await recalls_of(db, 805)) == 1
        # someone else's trigger id never fires for this person
        assert await trigger.send(app, 806, row.id) is None


async def test_a_failed_send_is_not_retried(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 807, followup_hours=24)
        await add_reflection(db, 807, "I can say no")
        alice = server.person(user_id=807)
        alice.command("trigger", "tomorrow", "9:00")
        await alice.next_message()
        (row,) = await triggers_of(db, 807)
        await _set_due(db, row.id, utcnow() - timedelta(seconds=1))
        server.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked")
        assert await trigger.send(app, 807, row.id) is not None  # recorded, not delivered
        await reschedule_user(app, 807)
        assert await alice.no_message_within(1.0)  # at most once: not sent again
        (row,) = await triggers_of(db, 807)
        assert (row.fire_count, row.status) == (1, TriggerStatus.DONE)
        (recall,) = await recalls_of(db, 807)
        assert recall.message_id is None and recall.followup_due_at is None


async def test_recurring_triggers_follow_a_new_time_zone(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 808)
        await add_reflection(db, 808, "I can say no")
        alice = server.person(user_id=808)
        # ~12 h after now in UTC: hours ahead in Berlin (UTC+1/+2) and Tokyo (UTC+9) alike
        hour = (datetime.now(UTC) + timedelta(hours=12)).hour
        alice.command("trigger", "every", "day", "at", f"{hour}:00")
        await alice.next_message()
        alice.command("trigger", "tomorrow", f"{hour}:00")
        await alice.next_message()
        daily, once = await triggers_of(db, 808)
        await add_user(db, 808, tz="Asia/Tokyo")  # what /settings does, then:
        await reschedule_user(app, 808)
        moved, kept = await triggers_of(db, 808)
        tokyo = zone_of(_user(808, "Asia/Tokyo"))
        assert moved.next_fire_at.replace(tzinfo=UTC).astimezone(tokyo).time() == time(hour, 0)
        assert moved.next_fire_at != daily.next_fire_at
        assert kept.next_fire_at == once.next_fire_at  # a one-off keeps its instant
        (job,) = app.job_queue.get_jobs_by_name(trigger.job_name(moved.id))
        assert job.next_t == moved.next_fire_at.replace(tzinfo=UTC)


async def test_people_who_skipped_start_still_get_their_ping_after_restart(
    server: TelegramTestServer, start_bot, tmp_path: Path
) -> None:
    engine, db = await open_db(tmp_path)
    await add_user(db, 809, onboarded=False, followup_hours=24)
    rid = await add_reflection(db, 809, "I can say no")
    due = utcnow() - timedelta(minutes=1)
    async with db() as s, s.begin():
        s.add(
            Trigger(
                user_id=809,
                reflection_id=rid,
                kind="time",
                status=TriggerStatus.ACTIVE,
                recurrence="once",
                at_time=due.time(),
                once_at=due,
                next_fire_at=due,
            )
        )
    await engine.dispose()
    alice = server.person(user_id=809)
    async with start_bot():
        assert (await alice.next_message(timeout=5)).text.startswith("I can say no")
        assert await alice.no_message_within(1.0)
