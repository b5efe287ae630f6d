"""TRANSCRIBE_BACKEND=queue end to end: the real bot, real `python -m bot worker` processes,
procrastinate on the test's PostgreSQL, the local Bot API server and the real model.

PostgreSQL only (the queue lives there): on SQLite these tests skip and say so (`-ra`
lists them); `make test` runs them in its PostgreSQL pass.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from storage.models import CaptureStatus
from tests.support.databases import read_rows
from tests.support.eventually import eventually
from tests.support.rows import captures
from tests.support.speech import FIXTURES, REFERENCES, wer
from tests.support.telegram_server import TelegramTestServer
from tests.support.workers import workers

CLIPS = [f"speech_0{i}.ogg" for i in range(1, 9)]
PEOPLE = [501, 502, 503, 504, 505]
MEMOS_EACH = 4  # 20 memos
FAST_HEARTBEAT = {"queue_heartbeat_seconds": "0.5", "queue_stalled_seconds": "2"}


def _postgres_only(database_kind: str) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL only: the transcription queue lives there (make test runs it)")


async def test_two_workers_twenty_memos_one_killed_each_lands_once(
    server: TelegramTestServer, start_bot, database_kind: str, database_url: str, tmp_path: Path
) -> None:
    _postgres_only(database_kind)
    async with start_bot(
        transcribe_backend="queue", queue_heartbeat_seconds=0.5, queue_stalled_seconds=2
    ) as app:
        with workers(
            2, database_url=database_url, api_root=server.root, folder=tmp_path, **FAST_HEARTBEAT
        ) as (doomed, survivor):
            assert await eventually(lambda: doomed.up and survivor.up, within=120), (
                doomed.text() + survivor.text()
            )
            sent: dict[int, list[str]] = {}
            for n in range(MEMOS_EACH):
                for i, user_id in enumerate(PEOPLE):
                    clip = CLIPS[(n * len(PEOPLE) + i) % len(CLIPS)]
                    sent.setdefault(user_id, []).append(clip)
                    server.person(user_id=user_id).send_voice(FIXTURES / clip)
            # kill one worker while it holds a job (started, not done)
            assert await eventually(lambda: doomed.in_hand > 0 and doomed.count(": done, ") >= 1,
                                    within=120), doomed.text()  # fmt: skip
            doomed.kill()

            async def all_landed() -> bool:
                rows = [c for user_id in PEOPLE for c in await captures(app, user_id)]
                return len(rows) == 20 and all(c.status != CaptureStatus.PENDING for c in rows)

            assert await eventually(all_landed, within=240), survivor.text()
            assert "queued again" in survivor.text()  # the killed worker's job was retried

        for user_id in PEOPLE:
            rows = await captures(app, user_id)
            assert [c.status for c in rows] == [CaptureStatus.TRANSCRIBED] * MEMOS_EACH
            for row, clip in zip(rows, sent[user_id], strict=True):
                assert row.text and wer(clip, row.text) <= 0.3, (clip, row.text)
        # exactly one transcript card per capture: one placeholder sent, one edit into the card
        edits = Counter(
            (int(p["chat_id"]), int(p["message_id"])) for p in server.calls("editMessageText")
        )
        sends = Counter(int(p["chat_id"]) for p in server.calls("sendMessage"))
        for user_id in PEOPLE:
            placeholders = [c.reply_message_id for c in await captures(app, user_id)]
            assert all(edits[(user_id, m)] == 1 for m in placeholders), edits
            assert sends[user_id] == MEMOS_EACH
        assert read_rows(database_url, "SELECT count(*) FROM transcript_results") == [(0,)]
        assert read_rows(database_url, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]


async def test_no_worker_the_memo_fails_in_bounded_time_and_retry_lands_it(
    server: TelegramTestServer, start_bot, database_kind: str, database_url: str, tmp_path: Path
) -> None:
    _postgres_only(database_kind)
    async with start_bot(transcribe_backend="queue", queue_wait_seconds=3) as app:
        alice = server.person(user_id=601)
        alice.send_voice(FIXTURES / "speech_01.ogg")
        await alice.next_message()  # "Saved ... transcribing…"
        failed = await alice.next_edit(timeout=30)  # no worker: given up after 3 s
        assert "/retry" in failed.text
        [row] = await captures(app, 601)
        assert (row.status, row.error) == (CaptureStatus.FAILED, "transcribe_failed")
        # its job was cancelled and deleted: no job row outlives its memo
        assert read_rows(database_url, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]

        with workers(1, database_url=database_url, api_root=server.root, folder=tmp_path) as (w,):
            assert await eventually(lambda: w.up, within=120), w.text()
            alice.command("retry")

            async def landed() -> bool:
                [row] = await captures(app, 601)
                return row.status == CaptureStatus.TRANSCRIBED

            assert await eventually(landed, within=120), w.text()
        [row] = await captures(app, 601)
        assert row.text and wer("speech_01.ogg", row.text) <= 0.2
        assert "skipped" not in w.text()  # the cancelled job was never run


async def test_a_spoken_reflection_answer_and_unheard_memos_go_through_the_queue(
    server: TelegramTestServer, start_bot, database_kind: str, database_url: str, tmp_path: Path
) -> None:
    _postgres_only(database_kind)
    async with start_bot(transcribe_backend="queue") as app:
        with workers(1, database_url=database_url, api_root=server.root, folder=tmp_path) as (w,):
            assert await eventually(lambda: w.up, within=120), w.text()
            bob = server.person(user_id=602, first_name="Bob")
            bob.command("reflect")
            opening = [(await bob.next_message()).text for _ in range(3)]
            assert "What was the thing?" in opening[-1]
            bob.send_voice(FIXTURES / "speech_03.ogg")
            heard = await bob.next_message(timeout=60)
            assert heard.text.startswith("I heard:")
            spoken = set(REFERENCES["speech_03.ogg"].lower().replace(",", "").split())
            assert len(spoken & set(heard.text.lower().split())) >= len(spoken) * 0.6, heard.text
            # what the worker could not hear reaches the person as the same sentence as ever
            bob.send_voice(FIXTURES / "random.ogg")
            assert "couldn't play that" in (await bob.next_message(timeout=60)).text
            bob.send_voice(FIXTURES / "silence.ogg")
            assert "couldn't hear any words" in (await bob.next_message(timeout=60)).text
        assert app.bot_data.transcribe_queue is not None
        assert read_rows(database_url, "SELECT count(*) FROM transcript_results") == [(0,)]


async def test_a_memo_waited_for_when_the_bot_stops_lands_once_after_the_restart(
    server: TelegramTestServer, start_bot, database_kind: str, database_url: str, tmp_path: Path
) -> None:
    _postgres_only(database_kind)
    alice = server.person(user_id=603)
    async with start_bot(transcribe_backend="queue") as app:
        alice.send_voice(FIXTURES / "speech_02.ogg")
        placeholder = await alice.next_message()
        assert "transcribing" in placeholder.text
    # no worker ran: the stopping bot let the memo go (pending) and cancelled its job
    assert read_rows(database_url, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]

    with workers(1, database_url=database_url, api_root=server.root, folder=tmp_path) as (w,):
        assert await eventually(lambda: w.up, within=120), w.text()
        async with start_bot(transcribe_backend="queue") as app:
            edit = await alice.next_edit(timeout=60)  # the startup retry, through the queue
            assert edit.message_id == placeholder.message_id
            assert "Saved to your" in edit.text and edit.message.button_texts
            [row] = await captures(app, 603)
            assert (row.status, row.attempts) == (CaptureStatus.TRANSCRIBED, 2)
            assert wer("speech_02.ogg", row.text or "") <= 0.3, row.text
        assert w.count(": started (attempt") == 1  # the cancelled job was never run
    edits = [p for p in server.calls("editMessageText") if int(p["chat_id"]) == 603]
    assert len(edits) == 1
