"""End to end over real HTTP: limits, bad audio, restarts, /retry, concurrency and the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio
from sqlalchemy import insert, select

from bot.voice import Failure, precheck
from storage.models import Capture, CaptureKind, CaptureStatus, TherapySession
from storage.sessions import utcnow
from tests.support.eventually import eventually
from tests.support.rows import captures
from tests.support.speech import FIXTURES, wer
from tests.support.telegram_server import TelegramTestServer

ROOT = Path(__file__).resolve().parent.parent

UNDECODABLE = "I couldn't read that as audio"
NO_SPEECH = "I couldn't hear words in that memo; the audio is kept for 24 h if you want /retry."


async def still_answers(person) -> None:
    """The bot keeps running: a following text is kept as usual."""
    person.send_text("still there?")
    assert (await person.next_message()).text.startswith("still there?\n\nSaved to your ")


@pytest.mark.parametrize(
    ("fixture", "answer", "status", "error"),
    [
        ("random.ogg", UNDECODABLE, CaptureStatus.FAILED, "undecodable"),
        ("empty.ogg", UNDECODABLE, CaptureStatus.FAILED, "undecodable"),
        ("image.ogg", UNDECODABLE, CaptureStatus.FAILED, "undecodable"),
        ("truncated.ogg", UNDECODABLE, CaptureStatus.FAILED, "undecodable"),
        ("silence.ogg", NO_SPEECH, CaptureStatus.EMPTY, "no_speech"),
    ],
)
async def test_bad_audio_gets_a_clear_answer_and_the_row_stays(
    server: TelegramTestServer,
    start_bot,
    fixture: str,
    answer: str,
    status: CaptureStatus,
    error: str,
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101)
        alice.send_voice(FIXTURES / fixture)
        placeholder = await alice.next_message()
        assert "transcribing…" in placeholder.text
        edit = await alice.next_edit(timeout=60)
        assert edit.message_id == placeholder.message_id and edit.text.startswith(answer)
        assert edit.message.button_texts == ["✎ Fix", "🗑 Delete"]  # type it instead, or drop it
        [row] = await captures(app, 101)
        assert (row.status, row.error, row.text, row.attempts) == (status, error, None, 1)
        assert row.file_id is not None  # kept for /retry
        await still_answers(alice)


async def test_too_long_memo_is_refused_before_download(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        bob = server.person(user_id=202, first_name="Bob")
        bob.send_voice(FIXTURES / "speech_01.ogg", duration=700)
        refusal = await bob.next_message()
        assert "11.7 min long" in refusal.text and "up to 10 min" in refusal.text
        assert server.calls("getFile") == [] and server.downloads == []
        [row] = await captures(app, 202)
        assert (row.status, row.error, row.duration) == (CaptureStatus.FAILED, "too_long", 700)
        await still_answers(bob)
        assert server.calls("getFile") == []


async def test_file_over_20_mb_is_refused_with_the_local_server_hint(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        carol = server.person(user_id=303, first_name="Carol")
        carol.send_voice(FIXTURES / "speech_01.ogg", file_size=25 * 1024 * 1024)
        await carol.next_message()
        edit = await carol.next_edit(timeout=30)
        assert "over 20 MB" in edit.text and "local Bot API server" in edit.text
        assert server.downloads == []
        [row] = await captures(app, 303)
        assert (row.status, row.error) == (CaptureStatus.FAILED, "too_big")
        await still_answers(carol)


def test_over_20_mb_is_refused_without_asking_api_telegram_org(make_settings) -> None:
    big = Capture(file_size=25 * 1024 * 1024, duration=30)
    official = make_settings(telegram_api_base_url="https://api.telegram.org")
    assert precheck(big, official) == Failure.TOO_BIG
    local = make_settings(telegram_api_base_url="http://localhost:8081")
    assert precheck(big, local) is None  # a local Bot API server serves files up to 2 GB


async def test_failed_download_then_retry(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        dave = server.person(user_id=404, first_name="Dave")
        dave.command("retry")
        assert "Nothing to retry" in (await dave.next_message()).text
        server.fail_next("getFile", status=502, times=None)  # down for longer than the retries
        dave.send_voice(FIXTURES / "speech_05.ogg")
        await dave.next_message()
        failed = await dave.next_edit(timeout=30)
        assert "couldn't fetch that memo" in failed.text
        server.clear_faults()
        [row] = await captures(app, 404)
        assert (row.status, row.error, row.attempts) == (CaptureStatus.FAILED, "download_failed", 1)

        dave.command("retry")
        assert (await dave.next_message()).text == "Trying 1 memo again…"
        landed = await dave.next_message(timeout=60)
        assert wer("speech_05.ogg", landed.text.split("\n\n")[0]) <= 0.2, landed.text
        assert landed.button_texts[0] == "★ This is what landed"
        [row] = await captures(app, 404)
        assert (row.status, row.attempts, row.error) == (CaptureStatus.TRANSCRIBED, 2, None)
        assert await eventually(lambda: _reply_is(app, 404, landed.message_id), within=5)
        dave.command("retry")
        assert "Nothing to retry" in (await dave.next_message()).text


async def _reply_is(app, user_id: int, message_id: int) -> bool:
    return (await captures(app, user_id))[0].reply_message_id == message_id


async def test_no_speech_can_be_retried(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        erin = server.person(user_id=505, first_name="Erin")
        erin.send_voice(FIXTURES / "silence.ogg")
        await erin.next_message()
        assert (await erin.next_edit(timeout=60)).text.startswith(NO_SPEECH)
        erin.command("retry")
        assert (await erin.next_message()).text == "Trying 1 memo again…"
        assert (await erin.next_message(timeout=60)).text.startswith(NO_SPEECH)
        [row] = await captures(app, 505)
        assert (row.status, row.attempts) == (CaptureStatus.EMPTY, 2)


async def test_restart_retries_an_interrupted_transcription_once(
    server: TelegramTestServer, start_bot
) -> None:
    alice = server.person(user_id=101)
    async with start_bot() as app:
        alice.send_text("before the crash")
        await alice.next_message()
        [text_row] = await captures(app, 101)
        voice = server.store_file(
            (FIXTURES / "speech_03.ogg").read_bytes(), kind="voice", mime_type="audio/ogg"
        )
        common = {
            "user_id": 101,
            "session_id": text_row.session_id,
            "kind": CaptureKind.VOICE,
            "chat_id": 101,
            "file_id": voice.file_id,
            "file_unique_id": voice.file_unique_id,
            "duration": 5,
            "landed": False,
            "created_at": utcnow(),
        }
        async with app.bot_data.sessionmaker() as s, s.begin():
            await s.execute(
                insert(Capture),
                [
                    # the process died while this one was being transcribed
                    {**common, "status": CaptureStatus.PENDING, "attempts": 1},
                    # tried three times already: never retried on its own again
                    {**common, "status": CaptureStatus.PENDING, "attempts": 3},
                    # a lasting failure: only /retry tries it again
                    {**common, "status": CaptureStatus.FAILED, "attempts": 1, "error": "too_long"},
                ],
            )
    async with start_bot() as app:
        landed = await alice.next_message(timeout=60)
        assert landed.text.startswith("Your memo from earlier is transcribed now:\n\n")
        assert wer("speech_03.ogg", landed.text.split("\n\n")[1]) <= 0.2, landed.text
        assert await alice.no_message_within(1.5)
        rows = await captures(app, 101)
        assert [(r.status, r.attempts) for r in rows[1:]] == [
            (CaptureStatus.TRANSCRIBED, 2),
            (CaptureStatus.PENDING, 3),
            (CaptureStatus.FAILED, 1),
        ]
    async with start_bot() as app:  # a second restart finds nothing left to do
        assert await alice.no_message_within(1.5)


async def test_stopping_mid_transcription_delivers_the_transcript_once(
    server: TelegramTestServer, start_bot
) -> None:
    alice = server.person(user_id=101)
    async with start_bot() as app:
        server.delay_next("getFile", 1.0)
        alice.send_voice(FIXTURES / "speech_04.ogg")
        await alice.next_message()
        [row] = await captures(app, 101)
        assert row.status == CaptureStatus.PENDING
    # stopped while the download hung; whichever run finished it, the text arrives once
    async with start_bot() as app:
        assert await eventually(lambda: _status_is(app, 101, CaptureStatus.TRANSCRIBED), within=60)
        await alice.no_message_within(1.5)
        results = [e.text for e in alice.edits] + [m.text for m in alice.messages[1:]]
        assert sum(wer("speech_04.ogg", t.split("\n\n")[-2]) <= 0.2 for t in results) == 1
        assert not any("went wrong" in (m.text or "") for m in alice.messages)


async def _status_is(app, user_id: int, status: CaptureStatus) -> bool:
    rows = await captures(app, user_id)
    return bool(rows) and rows[0].status == status


def _long_memo(seconds: int) -> bytes:
    """A WAV of the speech clips over and over (a long memo, for the concurrency test)."""
    clips = [decode_audio(str(path)) for path in sorted(FIXTURES.glob("speech_0*.ogg"))]
    samples = np.concatenate(clips * (seconds // 20 + 1))[: seconds * 16_000]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


async def test_others_are_answered_while_a_long_memo_is_transcribed(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101)
        bob = server.person(user_id=202, first_name="Bob")
        alice.send_audio(_long_memo(90), mime_type="audio/wav", file_name="long.wav")
        await alice.next_message()
        await server.wait_for(lambda: len(server.downloads) == 1, 10)  # now it is transcribing
        bob.command("help")
        assert "/recall" in (await bob.next_message()).text
        bob.send_text("a sentence while Alice's memo is transcribed")
        assert "Saved to your" in (await bob.next_message()).text
        [row] = await captures(app, 101)
        assert row.status == CaptureStatus.PENDING  # Alice's memo was still being worked on
        edit = await alice.next_edit(timeout=120)
        assert "Saved to your" in edit.text
        [row] = await captures(app, 101)
        assert row.status == CaptureStatus.TRANSCRIBED and len(row.text or "") > 200


def test_cli_transcribes_two_files(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHISPER_"))}
    files = [str(FIXTURES / "speech_01.ogg"), str(FIXTURES / "speech_06.ogg")]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "transcribe", *files],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for path, line in zip(files, lines, strict=True):
        name, text = line.split("\t")
        assert name == path and wer(Path(path).name, text) <= 0.2, line


async def test_sessions_table_is_per_person(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101)
        bob = server.person(user_id=202, first_name="Bob")
        alice.send_text("a")
        bob.send_text("b")
        await alice.next_message()
        await bob.next_message()
        async with app.bot_data.sessionmaker() as s:
            owners = list(await s.scalars(select(TherapySession.user_id)))
        assert sorted(owners) == [101, 202]


async def test_a_failed_memo_can_be_typed_instead(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        jo = server.person(user_id=111, first_name="Jo")
        jo.send_voice(FIXTURES / "random.ogg")
        await jo.next_message()
        failed = await jo.next_edit(timeout=60)
        jo.press("✎ Fix", failed.message_id)
        await jo.next_message()
        jo.send_text("Rest is not a reward.")
        assert "Rest is not a reward." in (await jo.next_message()).text
        [row] = await captures(app, 111)
        assert (row.status, row.error, row.text) == (
            CaptureStatus.SAVED,
            None,
            "Rest is not a reward.",
        )
        jo.command("retry")
        assert "Nothing to retry" in (await jo.next_message()).text


async def test_captured_text_is_encrypted_at_rest(server: TelegramTestServer, start_bot) -> None:
    from cryptography.fernet import Fernet
    from sqlalchemy import text

    async with start_bot(encryption_key=Fernet.generate_key().decode()) as app:
        kim = server.person(user_id=222, first_name="Kim")
        kim.send_text("the sentence that landed")
        await kim.next_message()
        async with app.bot_data.sessionmaker() as s:
            raw = await s.scalar(text("SELECT text FROM captures WHERE user_id = 222"))
        assert raw.startswith("fernet:") and "landed" not in raw
        assert (await captures(app, 222))[0].text == "the sentence that landed"
