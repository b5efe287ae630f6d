"""Logs carry ids, sizes and timings only: every flow at LOG_LEVEL=DEBUG, then grep the records.

The logging is set up by the app's own `configure_logging("DEBUG")` (what `python -m bot`
does with LOG_LEVEL=DEBUG), so PTB's whole-update and API-parameter debug lines, aiosqlite's
SQL parameters and httpx's URLs (which hold the token) are capped as in production. Records
of every logger are captured; only the test server's own logger (tests.*) is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.__main__ import CONTENT_LOGGERS, NOISY_LOGGERS, configure_logging
from bot.texts import DAY_NAMES
from storage.models import Capture, CaptureKind, CaptureStatus, Recall, User
from tests.support.eventually import eventually
from tests.support.telegram_server import TOKEN, TelegramTestServer

FIXTURES = Path(__file__).parent / "fixtures"
SECRETS = [
    "zucchini marmalade",
    "zucchini accordion",
    "zucchini tuba",
    "saxophone note",
    "earn rest",  # spoken in speech_01.ogg
    "kumquat",
    "harmonica",
    "oboe outcome",
    "xylophone",
    TOKEN,
]


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The app's real logging setup at DEBUG; every logger's level restored afterwards."""
    names = ["", *CONTENT_LOGGERS, *NOISY_LOGGERS]
    saved = {name: logging.getLogger(name).level for name in names}
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


async def said(server: TelegramTestServer, person, text: str) -> None:
    """Waits until a bot message or edit in the person's chat contains text."""

    def seen() -> bool:
        chat = person.chat
        return any(text in (m.text or "") for m in [*chat.sent, *(e.message for e in chat.edits)])

    assert await server.wait_for(seen, 30), text


def leaks(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s: %(message)s")
    found = []
    for record in records:
        if record.name.startswith("tests."):
            continue
        line = formatter.format(record).lower()
        found += [f"{secret!r} in {line[:300]}" for secret in SECRETS if secret.lower() in line]
    return found


async def test_every_flow_at_debug_logs_no_content(
    server: TelegramTestServer, start_bot, debug_logging: pytest.LogCaptureFixture
) -> None:
    assert logging.getLogger("telegram.ext.Application").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("handlers.capture").getEffectiveLevel() == logging.DEBUG
    async with start_bot(log_level="DEBUG") as app:
        alice = server.person(user_id=101, first_name="Alice")
        alice.command("start")
        for _ in range(2):
            await alice.next_message()
        alice.send_text("berlin")
        for _ in range(2):
            await alice.next_message()
        # therapy three days ahead: no evening prompt or digest can fall due mid-flow
        therapy_day = (datetime.now(ZoneInfo("Europe/Berlin")).weekday() + 3) % 7
        alice.send_text(f"{DAY_NAMES[therapy_day][:3].lower()} 17:00")
        for _ in range(2):
            await alice.next_message()

        typed = alice.send_text("zucchini marmalade")
        card = await alice.next_message()
        alice.press("✎ Fix", card)
        await alice.next_message()
        alice.send_text("zucchini accordion")
        await alice.next_message()
        alice.edit_message(typed, "zucchini tuba")
        await said(server, alice, "zucchini tuba")
        alice.command("mark", "saxophone note")
        await alice.next_message()
        alice.send_voice(FIXTURES / "speech_01.ogg")
        await alice.next_message()
        await said(server, alice, "earn rest")
        alice.send_text("/frobnicate xylophone")
        await alice.next_message()

        alice.command("reflect")
        for _ in range(3):
            await alice.next_message()
        for answer in ("kumquat one", "kumquat two", "kumquat three"):
            alice.send_text(answer)
            await alice.next_message()
        alice.press("✓ Save")
        await alice.next_message()
        offer = await alice.next_message()
        alice.press("💬 A situation", offer)
        await alice.next_message()
        alice.send_text("when the harmonica plays")
        await alice.next_message()
        async with app.bot_data.sessionmaker() as s, s.begin():
            await s.execute(update(User).where(User.id == 101).values(followup_hours=0.0005))
        alice.command("recall", "harmonica")
        await alice.next_message()
        question = await alice.next_message(timeout=10)

        async def followup_recorded() -> bool:
            async with app.bot_data.sessionmaker() as s:
                recall = await s.scalar(select(Recall).where(Recall.user_id == 101))
                return recall is not None and recall.followup_message_id is not None

        # the follow-up's message id is stored right after it is sent
        assert await eventually(followup_recorded, within=5)
        alice.send_text("the oboe outcome", reply_to=question)
        assert "Kept" in (await alice.next_message()).text

        alice.command("export")
        for _ in range(3):
            await alice.next_message()
        alice.command("export", "pdf")  # fontTools would list the page's glyphs at INFO
        assert (await alice.next_message(timeout=20)).document is not None
        alice.command("delete")
        await alice.next_message()
        alice.press("Yes, delete everything")
        await said(server, alice, "Everything is deleted")

        # a database error's text carries no parameters either (hide_parameters)
        with pytest.raises(IntegrityError) as caught:
            async with app.bot_data.sessionmaker() as s, s.begin():
                s.add(
                    Capture(
                        user_id=999,
                        session_id=999,
                        kind=CaptureKind.TEXT,
                        status=CaptureStatus.SAVED,
                        chat_id=999,
                        text="xylophone in a failing insert",
                    )
                )
        assert "xylophone" not in str(caught.value)

    records = debug_logging.records
    assert sum(r.levelno == logging.DEBUG for r in records) >= 5  # DEBUG really was on
    assert any(r.name == "telegram.ext.Application" for r in records)  # INFO still comes
    assert not leaks(records), leaks(records)
    assert not [r.name for r in records if r.name.startswith(("fontTools", "fpdf"))]
