"""/export pdf end to end over real HTTP: a span of days as a PDF in the person's own words
(any script), the dates people type, and nothing of it on disk with ENCRYPTION_KEY set."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from bot import texts
from bot.jobs.digest import send as send_digest
from storage.models import (
    Capture,
    CaptureKind,
    CaptureStatus,
    Recall,
    RecallSource,
    Reflection,
    ReflectionStatus,
    TherapySession,
    Trigger,
    TriggerKind,
    TriggerStatus,
    User,
)
from tests.support.databases import stored_bytes
from tests.support.rows import Db, add_reflection, add_user, db_of
from tests.support.telegram_server import TelegramTestServer
from tests.test_pdf import ACCENTS, CYRILLIC, GREEK, pdf_text

HEADLINE = "Границы — это забота"
PARAGRAPH = f"Границы — это забота о себе. {ACCENTS} 😀 🙂 我"
CUE = "когда начальник пишет в субботу"
OUTCOME = "Ответила в понедельник, и это сработало."
OCTOBER = "outside october words"


def at(day: int, hour: int, month: int = 11) -> datetime:
    """A naive-UTC instant in 2026, as the columns store it."""
    return datetime(2026, month, day, hour)


async def november(db: Db, user_id: int) -> None:
    """A session on 10 Nov 2026 with words in four scripts, and one capture in October."""
    await add_user(db, user_id, tz="Europe/Berlin")
    async with db() as s, s.begin():
        session = TherapySession(
            user_id=user_id, started_at=at(10, 16), local_date=date(2026, 11, 10)
        )
        old = TherapySession(
            user_id=user_id, started_at=at(20, 16, 10), local_date=date(2026, 10, 20)
        )
        s.add_all([session, old])
        await s.flush()

        def capture(text: str | None, when: datetime, **values: object) -> Capture:
            kind = CaptureKind.MARK if text is None else CaptureKind.TEXT
            return Capture(
                user_id=user_id,
                session_id=values.pop("session_id", session.id),
                kind=kind,
                status=CaptureStatus.SAVED,
                text=text,
                chat_id=user_id,
                created_at=when,
                **values,
            )

        s.add_all(
            [
                capture(GREEK, at(10, 17), landed=True),
                capture(CYRILLIC, at(10, 17) + timedelta(minutes=5)),
                capture(None, at(10, 16) + timedelta(minutes=30)),
                capture(OCTOBER, at(20, 17, 10), session_id=old.id),
            ]
        )
        reflection = Reflection(
            user_id=user_id,
            session_id=session.id,
            version=1,
            status=ReflectionStatus.SAVED,
            step=4,
            answer_what=HEADLINE,
            answer_why="Потому что я устаю.",
            answer_do="Я ухожу в шесть.",
            paragraph=PARAGRAPH,
            created_at=at(10, 18),
            saved_at=at(10, 19),
        )
        s.add(reflection)
        await s.flush()
        s.add(
            Trigger(
                user_id=user_id,
                reflection_id=reflection.id,
                kind=TriggerKind.SITUATION,
                status=TriggerStatus.ACTIVE,
                cue=CUE,
                keywords="начальник суббота",
                created_at=at(10, 19),
            )
        )
        s.add(
            Recall(
                user_id=user_id,
                reflection_id=reflection.id,
                source=RecallSource.SEARCH,
                helped=True,
                outcome=OUTCOME,
                created_at=at(12, 9),
                answered_at=at(12, 12),
            )
        )


async def test_export_pdf_of_november_in_four_scripts(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        await november(db_of(app), 121)
        await november(db_of(app), 122)  # someone else's November: not on her page
        alice = server.person(user_id=121, first_name="Alice")
        alice.command("export", "pdf", "2026-11-01", "2026-11-30")
        sent = await alice.next_message(timeout=20)
        assert sent.document is not None
        assert sent.document.filename == "between-2026-11-01-to-2026-11-30.pdf"
        assert sent.caption == texts.EXPORT_PDF_CAPTION.format(first="Sun 1 Nov", last="Mon 30 Nov")
        pages, words = pdf_text(sent.document.data)
        assert pages == 1
        for said in (CYRILLIC, GREEK, HEADLINE, CUE, OUTCOME, ACCENTS, "😀"):
            assert said in words, said
        assert "□ □" in words  # 🙂 and 我: no glyph in DejaVu Sans, drawn as a box
        assert "Sun 1 Nov – Mon 30 Nov 2026" in words
        assert "Tue 10 Nov 17:30 · marked" in words  # a mark: a moment, in Berlin time
        assert "Thu 12 Nov · it helped" in words
        assert OCTOBER not in words
        assert words.count(CYRILLIC) == 1  # Bob's identical words stayed out

        alice.command("export", "pdf", "1", "nov", "-", "30", "nov")  # as people type it
        again = await alice.next_message(timeout=20)
        assert again.document is not None and again.document.filename == sent.document.filename
        assert CYRILLIC in pdf_text(again.document.data)[1]

        alice.command("export", "pdf", "2026-10-01")  # one date: from then until today
        since = await alice.next_message(timeout=20)
        assert since.document is not None
        today = datetime.now(UTC).date()
        assert since.document.filename.startswith("between-2026-10-01-to-")
        assert abs((date.fromisoformat(since.document.filename[22:32]) - today).days) < 2
        assert OCTOBER in pdf_text(since.document.data)[1]


async def test_bad_dates_get_the_help_and_plain_export_is_unchanged(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        await november(db_of(app), 131)
        alice = server.person(user_id=131, first_name="Alice")
        for typed in (("next", "tuesday"), ("2026-02-30",), ("1", "nov", "2", "nov", "3", "nov")):
            alice.command("export", "pdf", *typed)
            assert (await alice.next_message()).text == texts.EXPORT_PDF_HELP, typed
        alice.command("export", "pdf", "2026-10-01", "2026-10-05")  # nothing in those days
        assert (await alice.next_message()).text == texts.EXPORT_PDF_NOTHING.format(
            first="Thu 1 Oct", last="Mon 5 Oct"
        )
        alice.command("export")
        assert "everything I store about you" in (await alice.next_message()).text
        readable, complete = await alice.next_message(), await alice.next_message()
        assert readable.document is not None and readable.document.filename.endswith(".md")
        assert complete.document is not None and complete.document.filename.endswith(".json")
        assert CYRILLIC in readable.document.data.decode()
        alice.command("help")  # and the bot is fine
        assert "/recall" in (await alice.next_message()).text


def pdf_files(*roots: Path, shallow: Path) -> set[Path]:
    """Every .pdf under `roots` (recursively) and directly in `shallow`."""
    found = {p for root in roots for p in root.rglob("*") if p.suffix.lower() == ".pdf"}
    return found | {p for p in shallow.iterdir() if p.suffix.lower() == ".pdf"}


async def test_with_encryption_no_pdf_touches_the_disk(
    server: TelegramTestServer, start_bot, tmp_path: Path, database_url: str
) -> None:
    temp = Path(tempfile.gettempdir())
    before = pdf_files(tmp_path, shallow=temp)
    async with start_bot(encryption_key=Fernet.generate_key().decode()) as app:
        db = db_of(app)
        await november(db, 141)
        async with db() as s, s.begin():
            user = await s.get(User, 141)
            assert user is not None
            user.therapy_weekday, user.therapy_time = 1, time(17)
        await add_reflection(db, 141, "Тишина разрешена", landed="Покой — не награда.")
        alice = server.person(user_id=141, first_name="Alice")

        alice.command("export", "pdf", "2026-11-01", "2026-11-30")
        sent = await alice.next_message(timeout=20)
        assert sent.document is not None
        assert CYRILLIC in pdf_text(sent.document.data)[1]
        alice.command("export", "PDF")  # no dates: the last four weeks, up to today
        recent = await alice.next_message(timeout=20)
        assert recent.document is not None
        assert "Тишина разрешена" in pdf_text(recent.document.data)[1]

        assert await send_digest(app, 141, datetime.now(UTC).date())
        assert "Покой — не награда." in (await alice.next_message()).text
        page = await alice.next_message(timeout=20)
        assert page.document is not None
        assert "Тишина разрешена" in pdf_text(page.document.data)[1]

        assert pdf_files(tmp_path, shallow=temp) == before  # built in memory, sent, gone
        stored = stored_bytes(database_url)
        assert CYRILLIC.encode() not in stored and "Тишина".encode() not in stored
        assert b"%PDF-" not in stored
