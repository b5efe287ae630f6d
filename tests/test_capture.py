"""End to end over real HTTP: memos and sentences become captures, with buttons that work."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from storage.captures import CaptureRepository
from storage.models import CaptureKind, CaptureStatus, TherapySession, User
from storage.sessions import utcnow
from tests.support.eventually import eventually
from tests.support.rows import captures, sessions
from tests.support.speech import FIXTURES, wer
from tests.support.telegram_server import TelegramTestServer

BUTTONS = ["★ This is what landed", "✎ Fix", "🗑 Delete"]


def label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def labels_since(sent: datetime, zone: str = "UTC") -> set[str]:
    """The session days a capture made between `sent` and now can carry (midnight may pass)."""
    tz = ZoneInfo(zone)
    return {label(sent.astimezone(tz)), label(datetime.now(tz))}


async def execute(app, statement) -> None:
    async with app.bot_data.sessionmaker() as s, s.begin():
        await s.execute(statement)


async def test_voice_is_committed_pending_then_edited_into_the_transcript(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101)
        server.delay_next("getFile", 1.5)  # a slow download: the row must already be there
        sent = datetime.now(ZoneInfo("UTC"))
        alice.send_voice(FIXTURES / "speech_01.ogg")
        placeholder = await alice.next_message()
        assert placeholder.text in {
            f"Saved to your {day} session · transcribing…" for day in labels_since(sent)
        }
        today = placeholder.text.removeprefix("Saved to your ").split(" session")[0]
        [row] = await captures(app, 101)
        assert (row.status, row.kind, row.text) == (CaptureStatus.PENDING, CaptureKind.VOICE, None)
        assert row.file_id == alice.chat.person_messages[1]["voice"]["file_id"]
        assert row.duration and row.duration >= 2

        edit = await alice.next_edit(timeout=60)
        assert edit.message_id == placeholder.message_id
        assert f"Saved to your {today} session." in edit.text
        transcript = edit.text.split("\n\n")[0]
        assert wer("speech_01.ogg", transcript) <= 0.2, transcript
        assert edit.message.button_texts == BUTTONS
        assert "typing" in alice.chat_actions

        [row] = await captures(app, 101)
        assert row.status == CaptureStatus.TRANSCRIBED and row.text == transcript
        assert row.reply_message_id == placeholder.message_id
        assert row.attempts == 1 and row.error is None and row.transcribed_at is not None
        assert row.audio_path is None  # not kept unless asked
        assert not Path("data/audio").exists()


async def test_video_note_audio_file_and_ogg_document_are_captures(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        bob = server.person(user_id=202, first_name="Bob")
        bob.send_video_note((FIXTURES / "speech_02.ogg").read_bytes())
        await bob.next_message()
        assert wer("speech_02.ogg", (await bob.next_edit(timeout=60)).text.split("\n\n")[0]) < 0.3
        bob.send_audio(FIXTURES / "speech_06.ogg", mime_type="audio/ogg", file_name="memo.ogg")
        await bob.next_message()
        assert wer("speech_06.ogg", (await bob.next_edit(timeout=60)).text.split("\n\n")[0]) < 0.3
        bob.send_document(FIXTURES / "speech_04.ogg", file_name="memo.ogg", mime_type="audio/ogg")
        await bob.next_message()
        assert wer("speech_04.ogg", (await bob.next_edit(timeout=60)).text.split("\n\n")[0]) < 0.3
        rows = await captures(app, 202)
        assert [r.kind for r in rows] == [
            CaptureKind.VIDEO_NOTE,
            CaptureKind.AUDIO,
            CaptureKind.AUDIO,
        ]
        assert all(r.status == CaptureStatus.TRANSCRIBED for r in rows)
        assert len({r.session_id for r in rows}) == 1


async def test_text_capture_land_fix_and_delete(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101)
        sent = datetime.now(ZoneInfo("UTC"))
        alice.send_text("You don't have to earn rest.")
        card = await alice.next_message()
        assert card.text in {
            f"You don't have to earn rest.\n\nSaved to your {day} session."
            for day in labels_since(sent)
        }
        assert card.button_texts == BUTTONS
        alice.forward_text("Anger is information.")
        second = await alice.next_message()
        first_row, second_row = await captures(app, 101)
        assert first_row.status == CaptureStatus.SAVED and first_row.kind == CaptureKind.TEXT
        assert second_row.text == "Anger is information."

        # ★ on the first, then on the second: only one landed per session
        alice.press("★ This is what landed", card)
        edit = await alice.next_edit()
        assert edit.message_id == card.message_id and "★ What landed ✓" in edit.message.button_texts
        assert alice.callback_answers[-1]["text"] == "★ Marked as what landed today"
        assert [r.landed for r in await captures(app, 101)] == [True, False]
        alice.press("★ This is what landed", second)
        await alice.next_edit()
        first_reset = await alice.next_edit()  # the first card's button no longer says ✓
        assert first_reset.message_id == card.message_id
        assert "★ This is what landed" in first_reset.message.button_texts
        assert [r.landed for r in await captures(app, 101)] == [False, True]

        # ✎ Fix: the next text replaces the capture's text, and is not a new capture
        alice.press("✎ Fix", card)
        assert "corrected text" in (await alice.next_message()).text
        alice.send_text("You do not have to earn rest, ever.")
        fixed = await alice.next_message()
        assert fixed.text.startswith("Fixed.\n\nYou do not have to earn rest, ever.")
        old_card = await alice.next_edit()  # the replaced card loses its buttons
        assert old_card.message_id == card.message_id and old_card.buttons == []
        rows = await captures(app, 101)
        assert len(rows) == 2 and rows[0].text == "You do not have to earn rest, ever."

        async def card_moved() -> bool:
            return (await captures(app, 101))[0].reply_message_id == fixed.message_id

        assert await eventually(card_moved, within=5)

        # ✎ then /cancel keeps it
        alice.press("✎ Fix", fixed)
        await alice.next_message()
        alice.command("cancel")
        assert "kept it as it was" in (await alice.next_message()).text
        assert (await captures(app, 101))[0].text == "You do not have to earn rest, ever."

        # 🗑 asks first; "Keep it" keeps, "Yes, delete it" deletes
        alice.press("🗑 Delete", second)
        confirm = await alice.next_edit()
        assert confirm.message.button_texts == ["Yes, delete it", "Keep it"]
        alice.press("Keep it", second)
        assert (await alice.next_edit()).message.button_texts[1:] == BUTTONS[1:]
        alice.press("🗑 Delete", second)
        await alice.next_edit()
        alice.press("Yes, delete it", second)
        assert (await alice.next_edit()).text == "Deleted."
        assert [r.id for r in await captures(app, 101)] == [first_row.id]


async def test_buttons_are_checked_against_their_owner(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101)
        mallory = server.person(user_id=666, first_name="Mallory")
        alice.send_text("Mine.")
        await alice.next_message()
        [row] = await captures(app, 101)
        mallory.send_text("hello")
        card = await mallory.next_message()
        for data in (f"cap:land:{row.id}", f"cap:delok:{row.id}", f"cap:fix:{row.id}", "cap:x:1"):
            mallory.press_raw(data, card.message_id)
            await server.wait_for(lambda: len(mallory.callback_answers) >= 1, 5)
        await server.wait_for(lambda: len(mallory.callback_answers) == 4, 5)
        assert {a.get("text") for a in mallory.callback_answers} == {"That's no longer available."}
        [row] = await captures(app, 101)
        assert row.text == "Mine." and not row.landed
        mallory.send_text("not a fix")  # the ✎ did not open a conversation for Mallory
        assert (await mallory.next_message()).text.startswith("not a fix")


async def test_long_emoji_and_edited_text(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        carol = server.person(user_id=303, first_name="Carol")
        long_text = ("I am allowed to take up space. " * 400)[:10_000]
        carol.send_text(long_text)
        card = await carol.next_message()
        assert len(card.text) <= 4096 and "all 10000 characters are saved" in card.text
        carol.send_text("🙏💛")
        assert (await carol.next_message()).text.startswith("🙏💛")
        sent = carol.send_text("Typo heer")
        typo_card = await carol.next_message()
        carol.edit_message(sent, "Typo here")
        assert (await carol.next_edit()).message_id == typo_card.message_id
        rows = await captures(app, 303)
        assert [len(r.text or "") for r in rows[:2]] == [10_000, 2]
        assert rows[2].text == "Typo here" and len(rows) == 3


async def test_mark_with_and_without_a_note(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        await execute(app, update(User).values(timezone="UTC"))
        dave = server.person(user_id=404, first_name="Dave")
        sent = datetime.now(ZoneInfo("UTC"))
        dave.command("mark")
        plain = await dave.next_message()
        now = datetime.now(ZoneInfo("UTC"))
        assert plain.text.startswith("Marked at ") and "evening reflection" in plain.text
        stamped = plain.text.removeprefix("Marked at ")[:5]
        assert stamped in {f"{sent:%H:%M}", f"{now:%H:%M}"}  # the minute it was made in
        assert "★ This is what landed" not in plain.button_texts
        dave.command("mark", "when", "she", "said", "I", "flinch")
        noted = await dave.next_message()
        assert "when she said I flinch" in noted.text
        rows = await captures(app, 404)
        assert [(r.kind, r.text) for r in rows] == [
            (CaptureKind.MARK, None),
            (CaptureKind.MARK, "when she said I flinch"),
        ]
        async with app.bot_data.sessionmaker() as s:
            marks = await CaptureRepository(s).marks(404, rows[0].session_id)
        assert len(marks) == 2
        # ✎ on a mark fills it in later
        dave.press("✎ Add words", plain)
        await dave.next_message()
        dave.send_text("the part about my father")
        await dave.next_message()
        assert (await captures(app, 404))[0].text == "the part about my father"


async def test_24_hour_rule_in_the_persons_time_zone(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        erin = server.person(user_id=505, first_name="Erin")
        erin.send_text("first")  # creates Erin with the default zone
        await erin.next_message()
        zone = "Pacific/Kiritimati"  # UTC+14: the local date is often not the UTC date
        await execute(app, update(User).where(User.id == 505).values(timezone=zone))
        await execute(app, update(TherapySession).values(started_at=utcnow() - timedelta(hours=23)))
        erin.send_text("second, same session")
        await erin.next_message()
        assert len(await sessions(app, 505)) == 1

        await execute(app, update(TherapySession).values(started_at=utcnow() - timedelta(hours=25)))
        sent = datetime.now(ZoneInfo(zone))
        erin.send_text("third, a new session")
        card = await erin.next_message()
        old, new = await sessions(app, 505)
        assert new.local_date in {sent.date(), datetime.now(ZoneInfo(zone)).date()}
        assert f"Saved to your {label(new.local_date)} session." in card.text
        rows = await captures(app, 505)
        assert [r.session_id for r in rows] == [old.id, old.id, new.id]


async def test_unsupported_messages_and_unknown_commands(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        frank = server.person(user_id=606, first_name="Frank")
        frank.send_sticker()
        assert "I can keep voice memos" in (await frank.next_message()).text
        frank.send_photo()
        assert "I can keep voice memos" in (await frank.next_message()).text
        frank.send_document(b"%PDF-1.4", file_name="notes.pdf", mime_type="application/pdf")
        assert "I can keep voice memos" in (await frank.next_message()).text
        frank.command("frobnicate", "x")
        assert "don't know that command" in (await frank.next_message()).text
        frank.command("cancel")
        assert (await frank.next_message()).text == "Nothing to cancel."
        assert await captures(app, 606) == []


async def test_keep_audio_writes_the_memo(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        gina = server.person(user_id=707, first_name="Gina")
        gina.send_text("hi")
        await gina.next_message()
        await execute(app, update(User).where(User.id == 707).values(keep_audio=True))
        gina.send_voice(FIXTURES / "speech_03.ogg")
        await gina.next_message()
        await gina.next_edit(timeout=60)
        row = (await captures(app, 707))[-1]
        assert row.audio_path == f"data/audio/707/{row.id}.ogg"
        assert Path(row.audio_path).read_bytes() == (FIXTURES / "speech_03.ogg").read_bytes()


async def test_logs_carry_ids_and_timings_never_content(
    server: TelegramTestServer, start_bot, log_records
) -> None:
    async with start_bot() as app:
        hana = server.person(user_id=808, first_name="Hana")
        hana.send_text("my secret sentence about my mother")
        await hana.next_message()
        hana.command("mark", "a private note")
        await hana.next_message()
        hana.send_voice(FIXTURES / "speech_02.ogg")
        await hana.next_message()
        await hana.next_edit(timeout=60)
        [*_, voice] = await captures(app, 808)
    ours = [r for r in log_records.records if r.name.startswith(("handlers", "storage", "bot"))]
    logged = "\n".join(r.getMessage() for r in ours)
    assert f"capture {voice.id} user 808" in logged and "RTF" in logged
    for secret in ("secret sentence", "private note", "partner", "money", "angry"):
        assert secret not in logged.lower()


async def test_transcript_is_sent_anew_when_the_placeholder_cannot_be_edited(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        ivan = server.person(user_id=909, first_name="Ivan")
        server.fail_next(
            "editMessageText",
            status=400,
            description="Bad Request: message to edit not found",
            times=None,
        )
        ivan.send_voice(FIXTURES / "speech_06.ogg")
        placeholder = await ivan.next_message()
        card = await ivan.next_message(timeout=60)
        server.clear_faults()
        assert wer("speech_06.ogg", card.text.split("\n\n")[0]) <= 0.2, card.text
        assert card.button_texts == BUTTONS

        async def moved() -> bool:
            return (await captures(app, 909))[0].reply_message_id == card.message_id

        assert await eventually(moved, within=5)
        assert placeholder.message_id != card.message_id
