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
