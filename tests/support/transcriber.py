"""The fast tier's stand-in for Whisper: a fixed text per fixture, no model.

`FixedTranscriber` implements bot.transcription's `Transcriber` protocol. It recognises the
clips in tests/fixtures by their bytes and returns what each one says (speech.json), an empty
text for silence.ogg, and `AudioDecodeError` for anything else (random.ogg, empty.ogg, an
image...), as the real engine would. With the in-process Bot API (tests/support/in_process.py)
it is one of the fast tier's only two stand-ins; the end-to-end tier runs the real model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.errors import AudioDecodeError, TranscriptionError
from bot.transcription import Transcript
from tests.support.speech import FIXTURES, REFERENCES


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FixedTranscriber:
    """Answers `transcribe` from the fixture texts; records the fixture names it was given."""

    name = "fixed"
    multilingual = False

    def __init__(self) -> None:
        self.texts: dict[str, tuple[str, str]] = {}  # digest -> (fixture name, text)
        for path in sorted(FIXTURES.glob("*.ogg")):
            text = REFERENCES.get(path.name, "" if path.name == "silence.ogg" else None)
            if text is not None:
                self.texts[_digest(path.read_bytes())] = (path.name, text)
        self.heard: list[str] = []
        self.closed = False

    async def transcribe(self, audio: bytes | Path, *, language: str | None = None) -> Transcript:
        """The fixture's text; AudioDecodeError for bytes that are no known speech clip."""
        if self.closed:
            raise TranscriptionError("the transcriber is closed")
        data = bytes(audio) if isinstance(audio, bytes | bytearray) else Path(audio).read_bytes()
        found = self.texts.get(_digest(data))
        if found is None:
            raise AudioDecodeError(f"{len(data)} bytes are no known fixture clip")
        name, text = found
        self.heard.append(name)
        return Transcript(text=text, language="en", audio_seconds=5.0, seconds=0.0)

    async def warm(self) -> None:
        """Nothing to warm: there is no model."""

    def close(self) -> None:
        self.closed = True
