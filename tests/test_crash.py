"""Crash safety: `python -m bot` killed with SIGKILL mid-transcription and mid-reflection.

The bot runs as a real subprocess against the test server in this test's event loop, on the
test's database (conftest's `database_url`: an SQLite file in tmp_path, or PostgreSQL). After
the kill a second process starts on the same database: the memo is transcribed without being
sent again, and the reflection goes on at the same question.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.bot_process import bot_process
from tests.support.databases import read_rows
from tests.support.eventually import eventually
from tests.support.telegram_server import TelegramTestServer

FIXTURES = Path(__file__).parent / "fixtures"
SPEECH: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())
Q2, Q3 = "Why does it matter", "What does the changed version of me do"


def query(database_url: str, sql: str) -> list[tuple]:
    """Reads the bot's database directly (another process may be writing it)."""
    return read_rows(database_url, sql)


async def test_killed_during_a_transcription_the_memo_is_transcribed_after_restart(
    server: TelegramTestServer, tmp_path: Path, database_url: str
) -> None:
    alice = server.person(user_id=101, first_name="Alice")
    async with bot_process(server, tmp_path, database_url, "first", run=1) as first:
        server.delay_next("download", 120)  # the download hangs: the kill lands mid-way
        alice.send_voice(FIXTURES / "speech_02.ogg")
        placeholder = await alice.next_message(timeout=30)
        assert "transcribing" in placeholder.text
        assert await server.wait_for(lambda: bool(server.downloads), 30)
        first.kill()
    rows = query(database_url, "SELECT status, attempts, text FROM captures")
    assert rows == [("pending", 1, None)]  # committed before the slow step

    async with bot_process(server, tmp_path, database_url, "second", run=2) as second:
        done = await alice.next_edit(timeout=60)  # the placeholder itself carries the text
        assert done.message_id == placeholder.message_id, second.output()
        assert done.text.startswith("Your memo from earlier is transcribed now:"), second.output()
        assert "partner" in done.text.lower() and "money" in done.text.lower()
        rows = query(database_url, "SELECT status, text FROM captures")
        assert len(rows) == 1 and rows[0][0] == "transcribed"  # not stored twice
        alice.command("help")
        assert "/recall" in (await alice.next_message(timeout=15)).text
    assert len(server.downloads) == 2


async def test_killed_during_a_reflection_it_resumes_at_the_same_question(
    server: TelegramTestServer, tmp_path: Path, database_url: str
) -> None:
    alice = server.person(user_id=101, first_name="Alice")
    async with bot_process(server, tmp_path, database_url, "first", run=1) as first:
        alice.send_text("I can say no without explaining myself")
        await alice.next_message(timeout=30)
        alice.command("reflect")
        for _ in range(3):  # the cue, how it works, question 1
            await alice.next_message()
        alice.send_text("no is a full sentence")
        assert Q2 in (await alice.next_message()).text

        def saved() -> bool:
            step = query(database_url, "SELECT step FROM reflections")
            state = query(
                database_url, "SELECT state FROM conversation_states WHERE name='reflection'"
            )
            return step == [(2,)] and bool(state) and state[0][0] is not None

        assert await eventually(saved), first.output()  # what a person sees is also on disk
        first.kill()

    async with bot_process(server, tmp_path, database_url, "second", run=2) as second:
        alice.send_text("I stop apologising for my plans")
        answer = await alice.next_message(timeout=30)
        assert Q3 in answer.text, second.output()
        alice.send_text("I turn down the extra shift")
        review = await alice.next_message()
        assert (
            "No is a full sentence. I stop apologising for my plans. "
            "I turn down the extra shift." in review.text
        )
        assert query(database_url, "SELECT count(*), max(step) FROM reflections") == [(1, 4)]
