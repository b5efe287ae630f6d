"""/trigger, the reflection's trigger buttons and /triggers, end to end over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.jobs.trigger import job_name
from bot.texts import DAY_NAMES
from storage.models import TriggerKind, TriggerStatus
from tests.support.rows import add_reflection, add_user, db_of, triggers_of
from tests.support.telegram_server import TelegramTestServer

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
FIXTURES = Path(__file__).parent / "fixtures"


def local(naive_utc: datetime, tz=BERLIN) -> datetime:  # type: ignore[no-untyped-def]
    return naive_utc.replace(tzinfo=UTC).astimezone(tz)


def job_times(app, trigger_id: int) -> list[datetime]:  # type: ignore[no-untyped-def]
    return [job.next_t for job in app.job_queue.get_jobs_by_name(job_name(trigger_id))]


async def test_trigger_needs_a_paragraph_first(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        await add_user(db_of(app), 701)
        alice = server.person(user_id=701)
        alice.command("trigger", "thu", "08:00")
        assert "Reflect first with /reflect" in (await alice.next_message()).text
        assert await triggers_of(db_of(app), 701) == []


async def test_typed_time_triggers_are_confirmed_in_plain_words_and_scheduled(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 702)
        rid = await add_reflection(db, 702, "I can say no")
        alice = server.person(user_id=702)

        alice.command("trigger", "thu", "08:00", "morning", "walk")
        confirm = await alice.next_message()
        assert confirm.text.startswith("Set: Thursday ")
        assert ", 08:00 Berlin time — morning walk." in confirm.text
        assert confirm.button_texts == ["↩ Undo", "🔁 Every week instead"]
        (once,) = await triggers_of(db, 702)
        assert (once.reflection_id, once.kind, once.recurrence, once.cue) == (
            rid,
            TriggerKind.TIME,
            "once",
            "morning walk",
        )
        assert once.next_fire_at is not None
        due = local(once.next_fire_at)
        assert (due.weekday(), due.time()) == (3, time(8, 0))
        assert f"{due.day} {due:%b}" in confirm.text
        assert job_times(app, once.id) == [once.next_fire_at.replace(tzinfo=UTC)]

        alice.press("🔁 Every week instead", confirm)
        edit = await alice.next_edit()
        assert edit.text == "Now every Thursday at 08:00 (Berlin time) — morning walk."
        (weekly,) = await triggers_of(db, 702)
        assert (weekly.recurrence, weekly.weekdays, weekly.once_at) == ("weekly", "3", None)

        alice.command("trigger", "every", "weekday", "8:30")
        confirm = await alice.next_message()
        assert confirm.text.startswith("Set: every weekday at 08:30 (Berlin time).")
        assert confirm.button_texts == ["↩ Undo"]
        _, weekdays = await triggers_of(db, 702)
        assert (weekdays.recurrence, weekdays.weekdays, weekdays.at_time) == (
            "weekdays",
            "0,1,2,3,4",
            time(8, 30),
        )
        assert local(weekdays.next_fire_at).time() == time(8, 30)
        alice.press("↩ Undo", confirm)
        assert (await alice.next_edit()).text.startswith("Okay, removed.")
        assert [t.id for t in await triggers_of(db, 702)] == [weekly.id]
        assert job_times(app, weekdays.id) == []


async def test_bad_times_get_a_clear_answer_and_situations_are_kept(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 703)
        rid = await add_reflection(db, 703, "I can stay in the room")
        alice = server.person(user_id=703)

        alice.command("trigger", "thu", "25:00")
        answer = await alice.next_message()
        assert answer.text.startswith("I didn't understand that time. Try: thu 08:00")
        assert "Tomorrow" in answer.button_texts and "Thu" in answer.button_texts
        alice.send_text("tomorrow 7pm")  # still asking for the time
        confirm = await alice.next_message()
        assert confirm.text.startswith("Set: ") and "19:00 Berlin time" in confirm.text

        alice.command("trigger", "when", "my", "partner", "brings", "up", "money")
        saved = await alice.next_message()
        assert "“when my partner brings up money”" in saved.text
        assert "/recall money" in saved.text
        situation = (await triggers_of(db, 703))[-1]
        assert (situation.kind, situation.reflection_id, situation.next_fire_at) == (
            TriggerKind.SITUATION,
            rid,
            None,
        )
        assert situation.keywords == "partner bring money"

        alice.command("trigger", "after", "dinner", "with", "my", "sister")
        offer = await alice.next_message()
        assert "Keep it as a situation?" in offer.text
        alice.press("Yes, a situation", offer)
        saved = await alice.next_message()
        assert "“after dinner with my sister”" in saved.text and "/recall sister" in saved.text
        assert len(await triggers_of(db, 703)) == 3

        alice.command("trigger", "🙂")
        offer = await alice.next_message()
        alice.press("No, I meant a time", offer)
        assert "When? Type it" in (await alice.next_message()).text
        alice.command("cancel")
        assert "no moment set" in (await alice.next_message()).text
        alice.send_text("just a thought")  # back to capture, not a time
        assert "didn't understand" not in (await alice.next_message()).text
        assert len(await triggers_of(db, 703)) == 3


async def test_day_and_hour_buttons_set_a_time(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 704, tz="America/New_York")
        await add_reflection(db, 704, "Rest is not a prize")
        # a day three days ahead: never today, so its 09:00 is never a moment away
        day = (datetime.now(NEW_YORK).weekday() + 3) % 7
        name = DAY_NAMES[day]
        alice = server.person(user_id=704)
        alice.command("trigger")
        choose = await alice.next_message()
        assert choose.text.startswith("When should “Rest is not a prize” come back")
        alice.press("⏰ A time", choose)
        ask = await alice.next_message()
        assert ask.buttons[0] == [("Tomorrow", "trg:day:t")]
        alice.press(name[:3], ask)
        hours = await alice.next_message()
        assert hours.text.startswith(f"{name}: at what time?")
        assert hours.button_texts[0] == "06:00" and hours.button_texts[-1] == "22:00"
        alice.press("09:00", hours)
        confirm = await alice.next_message()
        assert confirm.text.startswith(f"Set: {name} ") and "09:00 New York time" in confirm.text
        (row,) = await triggers_of(db, 704)
        due = local(row.next_fire_at, NEW_YORK)
        assert (due.weekday(), due.time()) == (day, time(9, 0))
        assert alice.current(hours).buttons == []  # the grid is gone once used
        # a stale hour button after the conversation ended changes nothing
        alice.press_raw("trg:hour:5:10", hours.message_id)
        await server.wait_delivered()
        assert await alice.no_message_within(0.5)
        assert len(await triggers_of(db, 704)) == 1


async def test_the_reflection_buttons_lead_here_and_refuse_other_people(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 705)
        await add_user(db, 706)
        rid = await add_reflection(db, 705, "I can say no")
        alice = server.person(user_id=705)
        bob = server.person(user_id=706, first_name="Bob")

        offer = await alice.send_text("placeholder")  # any message id to press on
        await alice.next_message()
        bob.press_raw(f"trg:time:{rid}", offer.message_id)
        bob.press_raw(f"trg:sit:{rid}", offer.message_id)
        await server.wait_delivered()
        assert await bob.no_message_within(0.5)
        assert [a.get("text") for a in bob.callback_answers] == ["That's no longer available."] * 2
        bob.send_text("when my partner brings up money")  # not taken as Bob's situation
        assert "Saved as a situation" not in (await bob.next_message()).text

        alice.press_raw(f"trg:sit:{rid}", offer.message_id)
        assert "What's the situation?" in (await alice.next_message()).text
        alice.send_text("when my boss raises his voice")
        assert "/recall voice" in (await alice.next_message()).text
        alice.press_raw("trg:later", offer.message_id)
        assert "/trigger picks a moment" in (await alice.next_message()).text
        assert len(await triggers_of(db, 705)) == 1
        assert await triggers_of(db, 706) == []


async def test_triggers_list_pauses_resumes_changes_and_deletes(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 707)
        await add_reflection(db, 707, "I can say no")
        alice = server.person(user_id=707)
        alice.command("triggers")
        assert "No moments set" in (await alice.next_message()).text
        alice.command("trigger", "every", "mon", "7:15", "bus")
        await alice.next_message()
        alice.command("trigger", "when", "my", "mother", "calls")
        await alice.next_message()
        timed, situation = await triggers_of(db, 707)

        alice.command("triggers")
        listing = await alice.next_message()
        assert listing.parse_mode == "HTML"
        assert "1. ⏰ every Monday at 07:15 (Berlin time) — bus" in listing.text
        assert "next: Mon " in listing.text and "2. 💬 when my mother calls" in listing.text
        assert listing.button_texts == [
            "1 ⏸ Pause",
            "1 ✏ Change",
            "1 🗑 Delete",
            "2 ✏ Change",
            "2 🗑 Delete",
        ]

        alice.press("1 ⏸ Pause", listing)
        edit = await alice.next_edit()
        assert "(paused)" in edit.text and "1 ▶ Resume" in edit.message.button_texts
        timed, _ = await triggers_of(db, 707)
        assert timed.status == TriggerStatus.PAUSED
        await server.wait_delivered()
        assert job_times(app, timed.id) == []
        alice.press("1 ▶ Resume", listing)
        edit = await alice.next_edit()
        assert "(paused)" not in edit.text
        timed, _ = await triggers_of(db, 707)
        assert timed.status == TriggerStatus.ACTIVE
        assert job_times(app, timed.id) == [timed.next_fire_at.replace(tzinfo=UTC)]

        alice.press("1 ✏ Change", listing)
        assert "Send the new time" in (await alice.next_message()).text
        alice.send_text("fri 9:00")
        assert (await alice.next_message()).text.startswith("Changed: Friday ")
        timed, _ = await triggers_of(db, 707)
        assert (timed.recurrence, local(timed.next_fire_at).weekday()) == ("once", 4)

        alice.press("2 ✏ Change", listing)
        assert "Send the new situation" in (await alice.next_message()).text
        alice.send_text("when my sister asks for money")
        assert "Changed: when my sister asks for money." in (await alice.next_message()).text
        _, situation = await triggers_of(db, 707)
        assert situation.keywords == "sister ask money"

        alice.press("2 🗑 Delete", listing)
        edit = await alice.next_edit()
        assert "sister" not in edit.text and edit.message.button_texts[-1] == "1 🗑 Delete"
        alice.press("1 🗑 Delete", listing)
        assert "No moments set" in (await alice.next_edit()).text
        assert await triggers_of(db, 707) == []
        await server.wait_delivered()
        assert job_times(app, timed.id) == []
        # a forged id of someone else's (or a deleted) trigger is refused
        alice.press_raw(f"tg:pause:{timed.id}", listing.message_id)
        alice.press_raw("tg:del:abc", listing.message_id)
        await server.wait_delivered()
        assert await alice.no_message_within(0.3)
        assert [a.get("text") for a in alice.callback_answers][-2:] == [
            "That's no longer available."
        ] * 2


async def test_reflect_then_a_time_pings_and_a_situation_is_found(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 708, followup_hours=24)
        alice = server.person(user_id=708)
        alice.send_text("You don't have to earn rest.")  # a capture: today's session
        await alice.next_message()
        alice.command("reflect")
        for _ in range(3):  # the cue, how it works, question 1
            await alice.next_message()
        for answer in ("Rest is not a prize", "I work until I collapse", "I take Sunday off"):
            alice.send_text(answer)
            await alice.next_message()
        alice.press("✓ Save")
        await alice.next_message()  # the paragraph card
        offer = await alice.next_message()
        assert offer.button_texts[:2] == ["⏰ A time", "💬 A situation"]

        alice.press("⏰ A time", offer)
        assert "When? Type it" in (await alice.next_message()).text
        alice.send_text("in 0.04 minutes")  # 2.4 s ahead
        assert (await alice.next_message()).text.startswith("Set: ")
        ping = await alice.next_message(timeout=8)
        assert ping.text.startswith("Rest is not a prize\n\nRest is not a prize.")
        assert await alice.no_message_within(1.5)

        alice.press("💬 A situation", offer)
        assert "What's the situation?" in (await alice.next_message()).text
        alice.send_text("when my partner brings up money")
        assert "/recall money" in (await alice.next_message()).text
        alice.command("recall", "money")
        card = await alice.next_message()
        assert card.text.startswith("Rest is not a prize\n\n")
        assert "💬 when my partner brings up money" in card.text
        timed, situation = await triggers_of(db, 708)
        assert timed.reflection_id == situation.reflection_id
        assert (timed.fire_count, timed.status) == (1, TriggerStatus.DONE)


async def test_a_spoken_situation_is_transcribed_and_found(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 709)
        rid = await add_reflection(db, 709, "I can stay in the room")
        alice = server.person(user_id=709)
        alice.command("trigger")
        alice.press(f"trg:sit:{rid}", await alice.next_message())
        assert "What's the situation?" in (await alice.next_message()).text
        alice.send_voice(FIXTURES / "speech_02.ogg")
        saved = await alice.next_message(timeout=60)
        assert "Saved as a situation" in saved.text and "partner" in saved.text.lower()
        (row,) = await triggers_of(db, 709)
        assert row.kind == TriggerKind.SITUATION and "money" in (row.keywords or "")
        alice.command("recall", "money")
        assert (await alice.next_message()).text.startswith("I can stay in the room")


async def test_others_are_answered_while_a_spoken_situation_is_heard(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 711)
        rid = await add_reflection(db, 711, "I can stay in the room")
        alice = server.person(user_id=711)
        bob = server.person(user_id=712, first_name="Bob")
        alice.command("trigger")
        alice.press(f"trg:sit:{rid}", await alice.next_message())
        assert "What's the situation?" in (await alice.next_message()).text
        server.delay_next("download", 4)  # the spoken situation is still being heard
        alice.send_voice(FIXTURES / "speech_02.ogg")
        assert await server.wait_for(lambda: len(server.calls("getFile")) == 1, 10)
        bob.command("help")
        assert "/recall" in (await bob.next_message(timeout=3)).text
        assert not await triggers_of(db, 711)  # Alice's memo is still being heard
        # what Alice sends meanwhile is kept, not swallowed and not taken as the situation
        alice.send_text("a sentence while my memo is heard")
        replies = [(await alice.next_message(timeout=3)).text for _ in range(2)]
        assert replies[0].startswith("a sentence while my memo is heard\n\nSaved to your")
        assert "still listening" in replies[1]
        saved = await alice.next_message(timeout=60)
        assert "Saved as a situation" in saved.text and "partner" in saved.text.lower()
        (row,) = await triggers_of(db, 711)
        assert row.kind == TriggerKind.SITUATION and "money" in (row.keywords or "")


async def test_a_half_set_moment_survives_a_restart(server: TelegramTestServer, start_bot) -> None:
    alice = server.person(user_id=710)
    async with start_bot() as app:
        await add_user(db_of(app), 710)
        await add_reflection(db_of(app), 710, "I can say no")
        alice.command("trigger")
        alice.press("⏰ A time", await alice.next_message())
        assert "When? Type it" in (await alice.next_message()).text
    async with start_bot() as app:
        alice.send_text("sat 10:00 market")
        confirm = await alice.next_message()
        assert confirm.text.startswith("Set: Saturday ") and "— market." in confirm.text
        assert len(await triggers_of(db_of(app), 710)) == 1
