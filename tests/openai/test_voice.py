"""End to end over real HTTP with openai-whisper: a voice memo becomes a transcribed capture."""

from __future__ import annotations

from storage.models import CaptureKind, CaptureStatus
from tests.support.rows import captures
from tests.support.speech import FIXTURES, wer
from tests.support.telegram_server import TelegramTestServer


async def test_a_voice_memo_is_transcribed_by_openai_whisper(
    server: TelegramTestServer, start_bot, transcriber
) -> None:
    assert transcriber.name == "openai-whisper"  # tests/openai/conftest.py's session model
    async with start_bot(whisper_engine="openai-whisper") as app:
        assert app.bot_data.transcriber is transcriber
        alice = server.person(user_id=101)
        alice.send_voice(FIXTURES / "speech_02.ogg")
        placeholder = await alice.next_message()
        assert placeholder.text.endswith(" session · transcribing…")
        edit = await alice.next_edit(timeout=60)
        assert edit.message_id == placeholder.message_id
        transcript = edit.text.split("\n\n")[0]
        assert wer("speech_02.ogg", transcript) <= 0.2, transcript
        [row] = await captures(app, 101)
        assert (row.kind, row.status, row.text) == (
            CaptureKind.VOICE,
            CaptureStatus.TRANSCRIBED,
            transcript,
        )
        assert row.error is None and row.audio_path is None
