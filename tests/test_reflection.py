"""/reflect end to end over real HTTP: questions, voice answers, redo/edit, versions, resume."""

from __future__ import annotations

import json
import string
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.paragraph import assemble
from bot.schedule import last_therapy
from bot.views import cue_text
from storage.models import (
    Capture,
    CaptureKind,
    CaptureStatus,
    Reflection,
    ReflectionStatus,
    TherapySession,
    User,
)
from tests.support.telegram_server import TelegramTestServer

FIXTURES = Path(__file__).parent / "fixtures"
SPEECH: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())
Q1, Q2, Q3 = (
    "What was the thing?",
    "Why does it matter",
    "What does the changed version of me do",
)


def words(text: str) -> list[str]:
    return text.lower().translate(str.maketrans("", "", string.punctuation)).split()


async def reflections(app, user_id: int) -> list[Reflection]:
    async with app.bot_data.sessionmaker() as s:
        result = await s.scalars(
            select(Reflection).where(Reflection.user_id == user_id).order_by(Reflection.id)
        )
        return list(result)


async def user_row(app, user_id: int) -> User:
    async with app.bot_data.sessionmaker() as s:
        row = await s.get(User, user_id)
    assert row is not None
    return row


async def opening(person) -> list[str]:
    """The cue, the how-to line and question 1 that /reflect sends first."""
    return [(await person.next_message()).text for _ in range(3)]


def test_assemble_joins_only_their_words() -> None:
    assert assemble(("i can say no", "  it frees  my evenings ", "I leave at six!")) == (
        "I can say no. It frees my evenings. I leave at six!"
    )
    assert assemble((None, "why", "")) == "Why."
    assert assemble(('she said "rest is allowed."', None, None)) == 'She said "rest is allowed."'
    assert assemble((None, None, None)) == ""


async def test_full_flow_with_text_answers_and_a_second_version(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=401, first_name="Alice")
        alice.send_text("warm up")  # a capture: creates the person and today's session
        await alice.next_message()
        async with app.bot_data.sessionmaker() as s, s.begin():
            session = await s.scalar(select(TherapySession).where(TherapySession.user_id == 401))
            assert session is not None
            s.add(
                Capture(
                    user_id=401,
                    session_id=session.id,
                    kind=CaptureKind.TEXT,
                    status=CaptureStatus.SAVED,
                    text="I don't have to earn rest.",
                    landed=True,
                    chat_id=401,
                )
            )
        alice.command("reflect")
        cue, intro, first = await opening(alice)
        assert "What landed" in cue and "I don't have to earn rest." in cue
        assert "/skip" in intro and "/back" in intro and "/cancel" in intro
        assert Q1 in first and "1 of 3" in first

        alice.send_text("rest is not a prize")
        assert Q2 in (await alice.next_message()).text
        # the draft holds the answer at once (nothing typed is lost)
        (draft,) = await reflections(app, 401)
        assert (draft.status, draft.step, draft.answer_what) == (
            ReflectionStatus.DRAFT,
            2,
            "rest is not a prize",
        )
        alice.send_text("i stop working until i collapse")
        assert Q3 in (await alice.next_message()).text
        alice.send_text("I take Sunday afternoon off")
        review = await alice.next_message()
        paragraph = (
            "Rest is not a prize. I stop working until i collapse. I take Sunday afternoon off."
        )
        assert paragraph in review.text
        assert review.button_texts == ["✓ Save", "Redo 1", "Redo 2", "Redo 3", "✎ Edit the whole"]

        alice.press("✓ Save")
        card = await alice.next_message()
        assert card.text.endswith(paragraph)
        offer = await alice.next_message()
        (saved,) = await reflections(app, 401)
        assert offer.buttons == [
            [("⏰ A time", f"trg:time:{saved.id}"), ("💬 A situation", f"trg:sit:{saved.id}")],
            [("Later", "trg:later")],
        ]
        assert (saved.status, saved.version, saved.paragraph) == (
            ReflectionStatus.SAVED,
            1,
            paragraph,
        )
        assert saved.saved_at is not None and saved.session_id == session.id
        assert saved.answer_what == "rest is not a prize"  # the headline is the first answer
        assert alice.chat.pinned == [card.message_id]
        assert (await user_row(app, 401)).pinned_message_id == card.message_id
        # the review's buttons are gone, so it can't be saved twice
        assert alice.current(review).buttons == []

        # reflecting again on the same session makes version 2 and keeps version 1
        alice.command("reflect")
        cue = (await alice.next_message()).text
        assert "I don't have to earn rest." in cue
        assert "already saved" in (await alice.next_message()).text
        await alice.next_message()  # how it works
        assert Q1 in (await alice.next_message()).text
        for answer in ("rest is allowed", "/skip", "walk at lunch"):
            alice.send_text(answer)
            await alice.next_message()
        alice.press("✓ Save")
        second_card = await alice.next_message()
        assert second_card.text.endswith("Rest is allowed. Walk at lunch.")
        await alice.next_message()
        first, second = await reflections(app, 401)
        assert (first.status, first.version, first.paragraph) == (
            ReflectionStatus.SUPERSEDED,
            1,
            paragraph,
        )
        assert (second.status, second.version, second.answer_why) == (
            ReflectionStatus.SAVED,
            2,
            None,
        )
        assert second.session_id == first.session_id
        # the new paragraph replaces the old one at the top of the chat
        assert alice.chat.pinned == [second_card.message_id]


async def test_skip_back_cancel_resume_redo_and_edit(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        dana = server.person(user_id=404, first_name="Dana")
        dana.command("reflect")
        await opening(dana)
        dana.command("back")
        assert "first question" in (await dana.next_message()).text
        assert Q1 in (await dana.next_message()).text
        dana.command("skip")
        assert Q2 in (await dana.next_message()).text
        dana.command("back")
        assert Q1 in (await dana.next_message()).text
        dana.send_text("I am allowed to be slow")
        assert Q2 in (await dana.next_message()).text
        dana.send_text("Rushing makes me mean")
        assert Q3 in (await dana.next_message()).text
        dana.command("back")
        again = await dana.next_message()
        assert Q2 in again.text and "Rushing makes me mean" in again.text
        dana.press("Keep")
        assert Q3 in (await dana.next_message()).text

        dana.command("cancel")
        assert "question 3" in (await dana.next_message()).text
        # out of the conversation, text is a capture again, not an answer
        dana.send_text("something that landed later")
        capture_reply = await dana.next_message()
        assert Q3 not in capture_reply.text
        (draft,) = await reflections(app, 404)
        assert (draft.step, draft.answer_do) == (3, None)

        dana.command("reflect")
        assert "Welcome back. We were at question 3." in (await dana.next_message()).text
        assert Q3 in (await dana.next_message()).text
        dana.send_text("leave ten minutes early")
        review = await dana.next_message()
        assert (
            "I am allowed to be slow. Rushing makes me mean. Leave ten minutes early."
            in review.text
        )

        # redo one answer: straight back to the paragraph afterwards
        dana.press("Redo 2", review)
        redo = await dana.next_message()
        assert Q2 in redo.text and "Rushing makes me mean" in redo.text
        dana.send_text("rushing makes me snap at people")
        review = await dana.next_message()
        assert (
            "I am allowed to be slow. Rushing makes me snap at people. Leave ten minutes early."
            in review.text
        )

        # edit the whole paragraph: their version is what gets saved
        dana.press("✎ Edit the whole", review)
        assert "whole paragraph" in (await dana.next_message()).text
        dana.send_text("Slow is allowed; rushing turns me sharp, so I leave early.")
        review = await dana.next_message()
        assert "Slow is allowed; rushing turns me sharp, so I leave early." in review.text
        dana.press("✓ Save", review)
        card = await dana.next_message()
        assert card.text.endswith("Slow is allowed; rushing turns me sharp, so I leave early.")
        (saved,) = await reflections(app, 404)
        assert saved.status == ReflectionStatus.SAVED
        assert saved.answer_why == "rushing makes me snap at people"


async def test_voice_answer_is_transcribed_and_confirmed(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        bob = server.person(user_id=402, first_name="Bob")
        bob.command("reflect")
        cue, _, first = await opening(bob)
        assert "Nothing was captured" in cue
        assert Q1 in first

        bob.send_voice(FIXTURES / "speech_03.ogg")
        heard = await bob.next_message(timeout=60)
        assert heard.text.startswith("I heard:")
        spoken = SPEECH["speech_03.ogg"]
        overlap = set(words(heard.text)) & set(words(spoken))
        assert len(overlap) >= len(set(words(spoken))) * 0.7
        assert heard.buttons == [[("✓ Yes", "refl:yes:1"), ("✎ Fix", "refl:fix:1")]]
        (draft,) = await reflections(app, 402)
        assert draft.answer_what and "say no" in draft.answer_what.lower()
        assert draft.step == 1  # not confirmed yet

        bob.press("✓ Yes")
        assert Q2 in (await bob.next_message()).text

        # a voice answer that is wrong gets fixed by typing
        bob.send_voice(FIXTURES / "speech_05.ogg")
        heard = await bob.next_message(timeout=60)
        assert heard.text.startswith("I heard:")
        bob.press("✎ Fix")
        assert "Type the answer" in (await bob.next_message()).text
        bob.send_text("I keep apologising for nothing")
        assert Q3 in (await bob.next_message()).text

        # audio that isn't audio, and a silent memo: kind replies, same question again
        bob.send_voice(FIXTURES / "random.ogg")
        assert "couldn't play that" in (await bob.next_message(timeout=60)).text
        bob.send_voice(FIXTURES / "silence.ogg")
        assert "couldn't hear any words" in (await bob.next_message(timeout=60)).text
        bob.send_voice(FIXTURES / "speech_01.ogg", file_size=25 * 1024 * 1024)
        assert "over 20 MB" in (await bob.next_message()).text
        bob.send_voice(FIXTURES / "speech_01.ogg", duration=700)
        assert "longer than I can transcribe (10 min)" in (await bob.next_message()).text
        # text sent while a memo is still being transcribed is kept, with a "one moment"
        bob.send_voice(FIXTURES / "speech_01.ogg")
        bob.send_text("hello?")
        replies = [(await bob.next_message(timeout=60)).text for _ in range(3)]
        assert any("still listening" in text for text in replies)
        assert any(text.startswith("hello?\n\nSaved to your") for text in replies)
        heard_rest = next(text for text in replies if text.startswith("I heard:"))
        assert "rest" in heard_rest.lower()
        bob.command("skip")  # leaves question 3 out (the memo answer is dropped)
        skipped = await bob.next_message()
        assert "You left out" not in skipped.text and "Here it is" in skipped.text
        bob.command("back")
        assert Q3 in (await bob.next_message()).text
        stale = bob.press_raw("refl:yes:2", heard.message_id)  # from question 2: no effect
        assert await server.wait_for(lambda: stale.callback_query_id in server.callback_answers, 5)
        answered = server.callback_answers[stale.callback_query_id]
        assert answered.get("text") == "That's no longer available."
        assert await bob.no_message_within(0.3)
        bob.send_text("call my sister")
        review = await bob.next_message()
        assert "Call my sister." in review.text
        assert "I keep apologising for nothing. Call my sister." in review.text
        (draft,) = await reflections(app, 402)
        assert draft.answer_why == "I keep apologising for nothing"
        assert draft.answer_do == "call my sister"


async def test_restart_mid_conversation_resumes_at_the_same_question(
    server: TelegramTestServer, start_bot
) -> None:
    carol = server.person(user_id=403, first_name="Carol")
    async with start_bot():
        carol.command("reflect")
        await opening(carol)
        carol.send_text("boundaries are kind")
        assert Q2 in (await carol.next_message()).text
    # a new Application on the same database: no /reflect, the next text is answer 2
    async with start_bot() as app:
        carol.send_text("it keeps me from resenting people")
        assert Q3 in (await carol.next_message()).text
        carol.send_text("say no to the Friday shift")
        review = await carol.next_message()
        assert (
            "Boundaries are kind. It keeps me from resenting people. Say no to the Friday shift."
            in review.text
        )
        (draft,) = await reflections(app, 403)
        assert draft.step == 4
    # and once more, at the paragraph: the buttons still work after a restart
    async with start_bot() as app:
        carol.press("✓ Save", review)
        card = await carol.next_message()
        assert card.text.endswith("Say no to the Friday shift.")
        (saved,) = await reflections(app, 403)
        assert saved.status == ReflectionStatus.SAVED
        # the draft row is the same one the first run started
        assert saved.id == draft.id and saved.answer_what == "boundaries are kind"


async def test_a_new_therapy_day_gets_its_own_session(
    server: TelegramTestServer, start_bot
) -> None:
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    async with start_bot() as app:
        async with app.bot_data.sessionmaker() as s, s.begin():
            s.add(
                User(
                    id=405,
                    chat_id=405,
                    timezone="UTC",
                    therapy_weekday=yesterday.weekday(),
                    therapy_time=time(10),
                    onboarded=True,
                )
            )
            await s.flush()
            old = TherapySession(
                user_id=405,
                started_at=datetime.combine(today - timedelta(days=8), time(10)),
                local_date=today - timedelta(days=8),
            )
            s.add(old)
            await s.flush()
            s.add(
                Reflection(
                    user_id=405,
                    session_id=old.id,
                    status=ReflectionStatus.SAVED,
                    version=1,
                    step=4,
                    paragraph="Last week.",
                )
            )
            s.add(
                Capture(
                    user_id=405,
                    session_id=old.id,
                    kind=CaptureKind.MARK,
                    status=CaptureStatus.SAVED,
                    chat_id=405,
                    created_at=datetime.combine(today - timedelta(days=8), time(10, 20)),
                )
            )
        gil = server.person(user_id=405, first_name="Gil")
        gil.command("reflect")
        cue, intro, first = await opening(gil)
        assert "Nothing was captured for this session" in cue
        assert "already saved" not in intro and Q1 in first
        *_, draft = await reflections(app, 405)
        async with app.bot_data.sessionmaker() as s:
            session = await s.get(TherapySession, draft.session_id)
        assert session is not None and session.id != old.id
        assert (session.local_date, session.started_at) == (
            yesterday,
            datetime.combine(yesterday, time(10)),
        )


def test_cue_lists_landed_else_captures_and_marks() -> None:
    def capture(kind: CaptureKind, text: str | None, minute: int, landed: bool = False):
        return Capture(
            kind=kind,
            text=text,
            landed=landed,
            created_at=datetime(2026, 10, 13, 15, minute),
        )

    berlin = ZoneInfo("Europe/Berlin")
    marks = [capture(CaptureKind.MARK, None, 5), capture(CaptureKind.MARK, "the chair", 20)]
    memo = capture(CaptureKind.VOICE, "I go quiet when money comes up", 40)
    cue = cue_text([*marks, memo], berlin)
    assert cue is not None
    assert "What you captured:\n• I go quiet when money comes up" in cue
    assert "Moments you marked (2): 17:05, 17:20 the chair" in cue
    landed = capture(CaptureKind.TEXT, "I can say no", 50, landed=True)
    assert cue_text([*marks, memo, landed], berlin) == "What landed:\nI can say no"
    assert cue_text([], berlin) is None


def test_last_therapy_is_read_at_the_given_instant_in_the_persons_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    user = User(id=1, chat_id=1, timezone="Europe/Berlin", therapy_weekday=1, therapy_time=time(17))

    def at(*args: int) -> datetime:  # a Berlin wall time
        return datetime(*args, tzinfo=berlin)

    this_tue = (date(2026, 11, 24), datetime(2026, 11, 24, 16, 0))  # 17:00 CET is 16:00 UTC
    last_tue = (date(2026, 11, 17), datetime(2026, 11, 17, 16, 0))
    assert last_therapy(user, at(2026, 11, 24, 16, 59)) == last_tue  # not started yet
    assert last_therapy(user, at(2026, 11, 24, 17, 0)) == this_tue
    # after local midnight (still Tuesday in UTC or not) it is Tuesday's session
    assert last_therapy(user, at(2026, 11, 25, 0, 30)) == this_tue
    assert last_therapy(user, at(2026, 11, 24, 23, 30).astimezone(UTC)) == this_tue
    assert last_therapy(user, at(2026, 12, 1, 16, 59, 59)) == this_tue  # a week on, just before
    # the summer-time start: the session's UTC start follows the local clock
    spring = last_therapy(user, at(2026, 3, 29, 12, 0))
    assert spring == (date(2026, 3, 24), datetime(2026, 3, 24, 16, 0))
    assert last_therapy(user, at(2026, 3, 31, 18, 0)) == (
        date(2026, 3, 31),
        datetime(2026, 3, 31, 15, 0),
    )
    user.therapy_weekday = None
    assert last_therapy(user, at(2026, 11, 24, 18, 0)) is None
