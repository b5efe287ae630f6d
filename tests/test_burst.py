"""End to end over real HTTP: a burst of 40 people's sentences and 4 memos, all kept and answered.

The speed of the same burst is bench/burst.py's; here only that nothing is lost, doubled or
logged as an error when 200 sentences and 4 memos arrive in the same second.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from sqlalchemy import select

from storage.models import Capture, CaptureKind, CaptureStatus
from tests.support.eventually import eventually
from tests.support.speech import FIXTURES, wer
from tests.support.telegram_server import TelegramTestServer

PEOPLE = 40
SENTENCES = 5
MEMOS = ["speech_01.ogg", "speech_02.ogg", "speech_03.ogg", "speech_04.ogg"]
FIRST = 7001


def sentence(user_id: int, n: int) -> str:
    return f"Burst {user_id}-{n}: I noticed I go quiet when money comes up."


async def test_a_burst_of_forty_people_is_stored_and_answered_once_each(
    server: TelegramTestServer, start_bot, log_records: pytest.LogCaptureFixture
) -> None:
    async with start_bot() as app:
        people = [server.person(user_id=FIRST + i, first_name=f"P{i}") for i in range(PEOPLE)]
        for n in range(SENTENCES):  # everyone's sentences interleaved, the memos among them
            for person in people:
                person.send_text(sentence(person.user_id, n))
            if n == 2:
                for person, memo in zip(people, MEMOS, strict=False):
                    person.send_voice(FIXTURES / memo)
        expected = {sentence(p.user_id, n): p.user_id for p in people for n in range(SENTENCES)}

        def answers() -> Counter[str]:
            """How many of the bot's messages carry each sentence, in its person's chat."""
            counts: Counter[str] = Counter()
            for person in people:
                for message in person.chat.sent:
                    for text in expected:
                        if text in (message.text or "") and expected[text] == person.user_id:
                            counts[text] += 1
            return counts

        def transcripts() -> list[str | None]:
            """The memos' transcripts: the edit of each memo's "transcribing…" placeholder."""
            found: list[str | None] = []
            for person in people[: len(MEMOS)]:
                edits = [e.text or "" for e in person.chat.edits if "Burst" not in (e.text or "")]
                done = [text for text in edits if "transcribing…" not in text]
                found.append(done[-1].split("\n\n")[0] if done else None)
            return found

        assert await eventually(lambda: len(answers()) == len(expected), within=180)
        assert await eventually(lambda: None not in transcripts(), within=180)
        async with app.bot_data.sessionmaker() as s:
            rows = list((await s.scalars(select(Capture).order_by(Capture.id))).all())

    assert set(answers().values()) == {1}  # each sentence answered once, in its own chat
    stored = Counter((row.user_id, row.text) for row in rows if row.kind == CaptureKind.TEXT)
    assert stored == Counter((user_id, text) for text, user_id in expected.items())
    memos = {row.user_id: row for row in rows if row.kind == CaptureKind.VOICE}
    assert sorted(memos) == [p.user_id for p in people[: len(MEMOS)]]
    for (person, name), transcript in zip(
        zip(people, MEMOS, strict=False), transcripts(), strict=True
    ):
        row = memos[person.user_id]
        assert row.status == CaptureStatus.TRANSCRIBED and row.text == transcript
        assert transcript is not None and wer(name, transcript) <= 0.3, transcript
    errors = [r for r in log_records.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.name, r.getMessage()) for r in errors]
