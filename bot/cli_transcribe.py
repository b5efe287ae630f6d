"""`python -m bot transcribe FILE...`: print `NAME<TAB>TEXT` for each audio file.

A file that fails prints `NAME<TAB>` on stdout and one error line on stderr; the exit
code is 1 if any file failed, else 0. The model is loaded once for all files.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.errors import TranscriptionError
from bot.transcription import Transcriber, build_transcriber


def main(paths: list[str], settings: Settings) -> int:
    """Transcribes each file in order and prints one line per file.

    Args:
        paths: Audio files, printed as given.
        settings: Engine, model and tuning (WHISPER_* settings).

    Returns:
        0 when every file was transcribed, 1 when any failed (or the model did not load).
    """
    try:
        transcriber = build_transcriber(settings)
    except TranscriptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_transcribe_all(transcriber, paths))
    finally:
        transcriber.close()


async def _transcribe_all(transcriber: Transcriber, paths: list[str]) -> int:
    failed = False
    for name in paths:
        try:
            transcript = await transcriber.transcribe(Path(name))
        except TranscriptionError as exc:
            failed = True
            print(f"{name}\t", flush=True)
            print(f"{name}: {exc}", file=sys.stderr, flush=True)
            continue
        text = " ".join(transcript.text.split())  # one line per file, whatever the model did
        print(f"{name}\t{text}", flush=True)
    return 1 if failed else 0
