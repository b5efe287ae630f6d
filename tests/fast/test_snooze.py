"""Later buttons, every refusal and rule: forged, someone else's, stale, already written,
"tonight" past or ahead, pressed twice, and /delete taking the snoozes with everything."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot import texts
from bot.clock import localize
from bot.jobs import snooze, trigger
from storage.models import Recall, Reflection, Snooze, TherapySession, Trigger, User
from storage.sessions import utcnow
from storage.triggers import TriggerRepository
from tests.support.fast import FastBot
from tests.support.person import Person
from tests.support.rows import Db, add_reflection, add_user, db_of, recalls_of, triggers_of
from tests.support.telegram_server import BotMessage

BERLIN = ZoneInfo("Europe/Berlin")


def _user(evening: time | None, tz: str = "Europe/Berlin") -> User:
    return User(id=1, chat_id=1, timezone=tz, evening_time=evening)


# ---------------------------------------------------------------------- pure rules


def test_tonight_is_the_evening_time_today_while_it_is_ahead() -> None:
    noon = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)  # 12:00 in Berlin, the day DST begins
    assert snooze.tonight(_user(time(20, 30)), noon) == datetime(2026, 3, 29, 18, 30, tzinfo=UTC)
    assert snooze.tonight(_user(time(9, 0)), noon) is None  # passed already
    assert snooze.tonight(_user(None), noon) is None  # the evening prompt is off
    assert snooze.tonight_clock(_user(time(20, 30)), noon) == time(20, 30)
    # "today" is the person's: 23:30 UTC is already tomorrow in Tokyo, 08:30 there
    late = datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    tokyo = snooze.tonight(_user(time(20, 30), "Asia/Tokyo"), late)
    assert tokyo == datetime(2026, 3, 30, 11, 30, tzinfo=UTC)


def test_due_for_each_choice_and_plan_within_the_grace() -> None:
    now = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    evening = _user(time(20, 30))
    assert snooze.due_for("20", evening, now) == now + timedelta(minutes=20)
    assert snooze.due_for("60", evening, now) == now + timedelta(hours=1)
    assert snooze.due_for("t", evening, now) == localize(date(2026, 3, 29), time(20, 30), BERLIN)
    assert snooze.due_for("t", _user(None), now) is None
    naive_now = now.replace(tzinfo=None)
    ahead = naive_now + timedelta(minutes=5)
    assert snooze.plan(ahead, naive_now) == ahead.replace(tzinfo=UTC)
    late = naive_now - snooze.SNOOZE_GRACE + timedelta(minutes=1)
    assert snooze.plan(late, naive_now) == now + snooze.SOON  # within the grace: right away
    assert snooze.plan(naive_now - snooze.SNOOZE_GRACE - timedelta(seconds=1), naive_now) is None


def test_parse_takes_only_well_formed_later_buttons() -> None:
    assert snooze.parse("sz:p:12:20") == snooze.Button("20", recall_id=12)
    assert snooze.parse("sz:e:20261203:t") == snooze.Button("t", day=date(2026, 12, 3))
    for forged in ("sz:p:12:25", "sz:p:x:20", "sz:e:20261301:20", "sz:e:2026123:60", "sz:", ""):
        assert snooze.parse(forged) is None, forged
    assert len(b"sz:p:999999999999999999:t") <= 64  # Telegram's callback data limit


# ---------------------------------------------------------------------- presses


async def _pinged(bot: FastBot, user_id: int = 101) -> tuple[Person, BotMessage, Recall]:
    db = db_of(bot.app)
    await add_user(db, user_id, followup_hours=24)
    await add_reflection(db, user_id, "I can say no")
    alice = bot.person(user_id)
    await bot(alice.command("trigger", "tomorrow", "9:00"))
    (row,) = await triggers_of(db, user_id)
    async with db() as s, s.begin():
        await s.execute(update(Trigger).where(Trigger.id == row.id).values(next_fire_at=utcnow()))
    await trigger.send(bot.app, user_id, row.id)
    (ping,) = alice.take_all()
    (recall,) = await recalls_of(db, user_id)
    return alice, ping, recall


async def _snoozes(db: Db, user_id: int = 101) -> list[Snooze]:
    async with db() as s:
        return list(await s.scalars(select(Snooze).where(Snooze.user_id == user_id)))


def _answer(person: Person) -> str | None:
    return person.callback_answers[-1].get("text")


async def test_forged_and_foreign_later_buttons_are_refused(bot: FastBot) -> None:
    alice, ping, recall = await _pinged(bot)
    for data in ("sz:p:99999:20", "sz:zz", "sz:e:20261301:20", f"sz:p:{recall.id}:99"):
        await bot(alice.press_raw(data, ping.message_id))
        assert _answer(alice) == texts.TRG_GONE, data
    mallory = bot.person(202, "Mallory")
    await add_user(db_of(bot.app), 202)
    await bot(mallory.press_raw(f"sz:p:{recall.id}:20", ping.message_id))
    assert _answer(mallory) == texts.TRG_GONE
    assert await _snoozes(db_of(bot.app)) == [] and await _snoozes(db_of(bot.app), 202) == []
    assert alice.current(ping).buttons == ping.buttons  # nothing was edited


async def test_an_old_ping_is_too_old_to_snooze(bot: FastBot) -> None:
    alice, ping, recall = await _pinged(bot)
    async with db_of(bot.app)() as s, s.begin():
        await s.execute(
            update(Recall)
            .where(Recall.id == recall.id)
            .values(created_at=utcnow() - snooze.SNOOZE_MAX_AGE - timedelta(minutes=1))
        )
    await bot(alice.press("💤 20 min", ping))
    assert _answer(alice) == texts.SNOOZE_STALE
    assert await _snoozes(db_of(bot.app)) == []


async def test_tonight_after_the_evening_time_drops_the_button(bot: FastBot) -> None:
    alice, ping, recall = await _pinged(bot)
    past = (datetime.now(BERLIN) - timedelta(minutes=2)).time()
    if past > datetime.now(BERLIN).time():  # just after midnight: "tonight" is still ahead
        past = time(0, 0)
    async with db_of(bot.app)() as s, s.begin():
        await s.execute(update(User).where(User.id == 101).values(evening_time=past))
    await bot(alice.press_raw(f"sz:p:{recall.id}:t", ping.message_id))
    assert _answer(alice) == texts.SNOOZE_NO_TONIGHT
    assert alice.current(ping).buttons[1] == [
        (texts.SNOOZE_BUTTON_20, f"sz:p:{recall.id}:20"),
        (texts.SNOOZE_BUTTON_60, f"sz:p:{recall.id}:60"),
    ]
    assert await _snoozes(db_of(bot.app)) == []


async def test_tonight_ahead_snoozes_until_the_evening_time(bot: FastBot) -> None:
    alice, ping, recall = await _pinged(bot)
    now = datetime.now(BERLIN)
    ahead = (now + timedelta(minutes=30)).time().replace(second=0, microsecond=0)
    if ahead < now.time():  # after 23:30 the evening is tomorrow's: not tonight
        return
    async with db_of(bot.app)() as s, s.begin():
        await s.execute(update(User).where(User.id == 101).values(evening_time=ahead))
    await bot(alice.press_raw(f"sz:p:{recall.id}:t", ping.message_id))
    (row,) = await _snoozes(db_of(bot.app))
    assert row.due_at == localize(now.date(), ahead, BERLIN).replace(tzinfo=None)
    assert alice.current(ping).text == texts.SNOOZED.format(when=f"at {ahead:%H:%M}")


async def test_pressing_twice_keeps_one_snooze_the_last_one(bot: FastBot) -> None:
    alice, ping, recall = await _pinged(bot)
    await bot(alice.press_raw(f"sz:p:{recall.id}:20", ping.message_id))
    await bot(alice.press_raw(f"sz:p:{recall.id}:60", ping.message_id))  # before the edit
    (row,) = await _snoozes(db_of(bot.app))
    assert row.due_at > utcnow() + timedelta(minutes=59)
    jobs = [j for j in bot.app.job_queue.jobs() if (j.name or "").startswith("snooze:")]
    assert [j.name for j in jobs if not j.removed] == [snooze.job_name(row.id)]


async def test_an_evening_button_of_an_old_prompt_or_a_written_one_is_refused(
    bot: FastBot,
) -> None:
    db = db_of(bot.app)
    today = datetime.now(BERLIN).date()
    await add_user(db, 101, last_evening_prompt_on=today)
    alice = bot.person()
    [ask] = await bot(alice.command("help"))
    old = f"sz:e:{today - timedelta(days=7):%Y%m%d}:20"
    await bot(alice.press_raw(old, ask.message_id))
    assert _answer(alice) == texts.SNOOZE_STALE
    rid = await add_reflection(db, 101, "Written already")  # its paragraph saved...
    async with db() as s, s.begin():  # ...for a session dated today in Berlin
        reflection = await s.get(Reflection, rid)
        assert reflection is not None
        await s.execute(
            update(TherapySession)
            .where(TherapySession.id == reflection.session_id)
            .values(local_date=today)
        )
    await bot(alice.press_raw(f"sz:e:{today:%Y%m%d}:20", ask.message_id))
    assert _answer(alice) == texts.SNOOZE_WRITTEN
    assert await _snoozes(db) == []


async def test_delete_takes_the_snoozes_and_their_jobs(bot: FastBot) -> None:
    alice, ping, _ = await _pinged(bot)
    await bot(alice.press("💤 1 h", ping))
    (row,) = await _snoozes(db_of(bot.app))
    [ask] = await bot(alice.command("delete"))
    await bot(alice.press(texts.BUTTON_DELETE_EVERYTHING, ask))
    assert await _snoozes(db_of(bot.app)) == []
    jobs = bot.app.job_queue.get_jobs_by_name(snooze.job_name(row.id))
    assert all(j.removed for j in jobs)
    assert await snooze.send(bot.app, 101, row.id) is False


async def test_deleting_the_moment_cancels_its_snoozed_ping(bot: FastBot) -> None:
    alice, ping, recall = await _pinged(bot)
    await bot(alice.press("💤 20 min", ping))
    (row,) = await _snoozes(db_of(bot.app))
    async with db_of(bot.app)() as s, s.begin():
        assert await TriggerRepository(s).delete(101, recall.trigger_id or -1)
    assert await _snoozes(db_of(bot.app)) == []  # the row goes with its trigger
    assert await snooze.send(bot.app, 101, row.id) is False
    assert alice.take_all() == []
