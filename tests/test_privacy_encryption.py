"""ENCRYPTION_KEY end to end: what people say never reaches the disk in clear, search still works,
a wrong key stops `python -m bot` without touching the file, and rotate-key moves to a new key.

"The disk" is the SQLite file and its WAL, or on PostgreSQL the database's pg_dump."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from storage.models import Recall
from tests.support.databases import stored_bytes
from tests.support.telegram_server import TelegramTestServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
OLD, NEW, WRONG = (Fernet.generate_key().decode() for _ in range(3))
CAPTURED = "the tangerine lighthouse sentence"
ANSWERS = (
    "rest is not a quarterly bonus",
    "I skip lunch to look indispensable",
    "I leave the office at six on Thursday",
)
CUE = "when my partner brings up the mortgage"
OUTCOME = "I stayed calm and named the worry"
SPOKEN = "explaining myself"  # in speech_03.ogg
PHRASES = [CAPTURED, *ANSWERS, CUE, OUTCOME, SPOKEN, "quarterly bonus", "mortgage"]


async def recall_shows(person, query: str, expected: str) -> None:
    person.command("recall", query)
    card = await person.next_message()
    assert expected in card.text, card.text


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "ENCRYPTION"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=90,
    )


async def test_nothing_said_reaches_the_disk_in_clear_and_keys_rotate(
    server: TelegramTestServer, start_bot, tmp_path: Path, database_url: str
) -> None:
    db = database_url  # the database start_bot's settings point at
    async with start_bot(encryption_key=OLD) as app:
        alice = server.person(user_id=101, first_name="Alice")
        alice.send_text(CAPTURED)
        await alice.next_message()
        alice.send_voice(FIXTURES / "speech_03.ogg")
        await alice.next_message()  # transcribing…
        transcript = await alice.next_edit(timeout=30)
        assert SPOKEN in transcript.text.lower()

        alice.command("reflect")
        for _ in range(3):  # the cue, how it works, question 1
            await alice.next_message()
        for answer in ANSWERS:
            alice.send_text(answer)
            await alice.next_message()
        alice.press("✓ Save")
        await alice.next_message()  # the paragraph card
        offer = await alice.next_message()
        alice.press("💬 A situation", offer)
        await alice.next_message()
        alice.send_text(CUE)
        assert "/recall" in (await alice.next_message()).text

        await recall_shows(alice, "mortgage", "quarterly bonus")  # search sees through
        await recall_shows(alice, "indispensable", "Thursday")
        async with app.bot_data.sessionmaker() as s, s.begin():
            recall = await s.scalar(select(Recall).order_by(Recall.id.desc()).limit(1))
            assert recall is not None
            recall.outcome = OUTCOME
        assert not (tmp_path / "data" / "audio").exists()  # the memo's audio was not kept
        on_disk = stored_bytes(db)  # while running (SQLite: the WAL holds the newest pages)
        assert b"fernet:" in on_disk
        for phrase in PHRASES:
            assert phrase.encode() not in on_disk, phrase
    on_disk = stored_bytes(db)
    for phrase in PHRASES:
        assert phrase.encode() not in on_disk, phrase

    env = {
        "DATABASE_URL": db,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token_between",
        "TELEGRAM_API_BASE_URL": server.root,
    }
    before = stored_bytes(db)
    wrong = run_cli([], {**env, "ENCRYPTION_KEY": WRONG}, tmp_path)
    assert wrong.returncode == 2
    (line,) = wrong.stderr.strip().splitlines()
    assert "ENCRYPTION_KEY" in line and "rotate-key" in line
    assert stored_bytes(db) == before
    assert len(server.calls("getMe")) == 1  # only the first bot: this one never started

    rotated = run_cli(["rotate-key"], {**env, "ENCRYPTION_KEY": f"{NEW},{OLD}"}, tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "reflections.answer_what: 1 re-encrypted" in rotated.stdout
    for phrase in PHRASES:
        assert phrase.encode() not in stored_bytes(db), phrase

    async with start_bot(encryption_key=NEW):  # the old key is no longer needed
        alice = server.person(user_id=101, first_name="Alice")
        await recall_shows(alice, "mortgage", "quarterly bonus")
        await recall_shows(alice, "lighthouse", "quarterly bonus")  # found via its capture
