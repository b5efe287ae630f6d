"""The speech fixtures: tests/fixtures/*.ogg and what each one says (speech.json)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import jiwer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REFERENCES: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())


def wer(name: str, hypothesis: str) -> float:
    """Word error rate of `hypothesis` against fixture `name` (case and punctuation aside)."""

    def norm(text: str) -> str:
        return " ".join(text.lower().translate(str.maketrans("", "", string.punctuation)).split())

    return jiwer.wer(norm(REFERENCES[name]), norm(hypothesis))


def joined_wav(names: list[str], path: Path) -> Path:
    """The fixtures `names` decoded and joined into one 16 kHz mono WAV (a longer memo)."""
    import wave

    import numpy as np
    from faster_whisper.audio import decode_audio

    samples = np.concatenate([decode_audio(str(FIXTURES / name)) for name in names])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path
