"""/recall end to end over real HTTP: one message, browsing, search, privacy, follow-up."""

from __future__ import annotations

import json
from pathlib import Path

from bot.jobs import reschedule_user
from storage.models import RecallSource
from tests.support.rows import (
    add_reflection,
    add_situation,
    add_user,
    db_of,
    recalls_of,
    settled,
)
from tests.support.telegram_server import TelegramTestServer

FIXTURES = Path(__file__).parent / "fixtures"
SPEECH: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())


async def test_recall_without_a_paragraph_says_what_to_do(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        await add_user(db_of(app), 601)
        alice = server.person(user_id=601)
        alice.command("recall")
        answer = await alice.next_message()
        assert "Nothing to bring back yet" in answer.text and "/reflect" in answer.text
        alice.command("recall", "money")
        assert "found nothing" in (await alice.next_message()).text
        assert await recalls_of(db_of(app), 601) == []


async def test_recall_shows_one_message_and_browses_sessions(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 602)
        older = await add_reflection(
            db, 602, "I can say no", "It protects my evenings.", "I leave at six.", days_ago=7
        )
        await add_situation(db, 602, older, "when my partner brings up money")
        newer = await add_reflection(
            db, 602, "Rest is not a prize <3", "I work until I collapse.", "Sunday off."
        )
        alice = server.person(user_id=602)
        alice.command("recall")
        card = await alice.next_message()
        assert await alice.no_message_within(0.5)  # one message
        assert card.parse_mode == "HTML"
        assert card.text.startswith("Rest is not a prize <3\n\n")  # headline first, escaped
        assert "I work until I collapse." in card.text and "Sunday off." in card.text
        assert "Written " in card.text
        assert card.button_texts == ["◀ older", "It helped", "Didn't help"]
        (recall,) = await recalls_of(db, 602)
        assert (recall.reflection_id, recall.source, recall.message_id) == (
            newer,
            RecallSource.COMMAND,
            card.message_id,
        )

        alice.press("◀ older", card)
        edit = await alice.next_edit()
        assert edit.message_id == card.message_id
        assert edit.text.startswith("I can say no\n\nI can say no It protects my evenings.")
        assert "💬 when my partner brings up money" in edit.text
        assert edit.message.buttons[0] == [("newer ▶", f"rc:nav:{recall.id}:{newer}")]
        (recall,) = await recalls_of(db, 602)
        assert recall.reflection_id == older

        alice.press("It helped", card)
        edit = await alice.next_edit()
        assert "✓ It helped" in edit.message.button_texts
        (recall,) = await recalls_of(db, 602)
        assert recall.helped is True
        assert await alice.no_message_within(0.3)


async def test_recall_words_find_the_situation_paragraph_and_never_another_persons(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 603)
        await add_user(db, 604)
        money = await add_reflection(
            db,
            603,
            "I can stay in the room",
            "Leaving is my old move.",
            "I breathe first.",
            days_ago=7,
        )
        await add_situation(db, 603, money, "when my partner brings up money")
        await add_reflection(db, 603, "Rest is not a prize", "I burn out.", "Sunday off.")
        alice = server.person(user_id=603)
        bob = server.person(user_id=604, first_name="Bob")

        alice.command("recall", "money")
        card = await alice.next_message()
        assert card.text.startswith("I can stay in the room\n\n")
        assert "when my partner brings up money" in card.text
        (recall,) = await recalls_of(db, 603)
        assert (recall.reflection_id, recall.source) == (money, RecallSource.SEARCH)

        alice.command("recall", "Partners")  # another form of the word, any case
        assert (await alice.next_message()).text.startswith("I can stay in the room")

        bob.command("recall")
        assert "Nothing to bring back yet" in (await bob.next_message()).text
        bob.command("recall", "money")
        assert "found nothing" in (await bob.next_message()).text
        # Bob presses Alice's buttons with forged callback data: refused, nothing changes
        bob.press_raw(f"rc:nav:{recall.id}:{money}", card.message_id)
        bob.press_raw(f"rc:helped:{recall.id}:1", card.message_id)
        bob.press_raw("rc:nav:x:y", card.message_id)
        await server.wait_delivered()
        assert await bob.no_message_within(0.5)
        answers = [a.get("text") for a in bob.callback_answers]
        assert answers == ["That's no longer available."] * 3
        for message in bob.messages:
            assert "room" not in (message.text or "") and "prize" not in (message.text or "")
        assert await recalls_of(db, 604) == []
        (first, _) = await recalls_of(db, 603)
        assert first.helped is None


async def test_follow_up_arrives_once_and_its_answers_are_stored(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 605, followup_hours=0.0005)  # 1.8 s
        await add_reflection(db, 605, "I can say no", "It protects my evenings.", "I leave at six.")
        alice = server.person(user_id=605)
        alice.command("recall")
        card = await alice.next_message()
        question = await alice.next_message(timeout=8)
        assert question.text.startswith("How did it go with “I can say no”?")
        assert question.reply_to_message_id == card.message_id
        assert question.button_texts == ["It helped", "Didn't help", "Didn't get to it"]

        async def stored():
            (recall,) = await recalls_of(db, 605)
            return recall if recall.followup_message_id else None

        recall = await settled(stored)
        assert recall.followup_sent_at is not None
        assert recall.followup_message_id == question.message_id

        alice.press("Didn't help", question)
        edit = await alice.next_edit()
        assert "Didn't help." in edit.text and edit.message.buttons == []
        alice.send_text("I said yes again, then noticed it an hour later.", reply_to=question)
        assert "Kept" in (await alice.next_message()).text
        (recall,) = await recalls_of(db, 605)
        assert recall.helped is False
        assert recall.outcome == "I said yes again, then noticed it an hour later."
        assert recall.answered_at is not None

        # a voice reply is transcribed and added
        clip = next(iter(SPEECH))
        alice.send_voice(FIXTURES / clip, reply_to=question)
        assert "Kept" in (await alice.next_message(timeout=60)).text
        (recall,) = await recalls_of(db, 605)
        first_word = SPEECH[clip].split()[0].strip(",.").lower()
        assert recall.outcome is not None and first_word in recall.outcome.lower()

        # text that is not a reply is still a capture, not an answer
        alice.send_text("A new thought from today")
        capture_reply = await alice.next_message()
        assert "Kept" not in capture_reply.text
        (recall,) = await recalls_of(db, 605)
        assert "new thought" not in (recall.outcome or "")

        # asked once: a restart does not ask again
        await reschedule_user(app, 605)
        assert await alice.no_message_within(1.0)
