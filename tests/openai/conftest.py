"""The openai-whisper engine for real: `make test-openai` (its own venv, .venv-openai, with
torch==2.13.0 and the openai-whisper extra; ffmpeg from Debian).

Collected only when named (`pytest tests/openai`; tests/conftest.py leaves it out of other
runs); every test here is marked `openai`. Nothing skips: without torch, openai-whisper or
ffmpeg every test fails, saying what is missing. The session's one model is what the bot
loads for WHISPER_ENGINE=openai-whisper and no WHISPER_MODEL: the bundled tiny.en converted to
a .pt once (bot/openai_checkpoint.py, cached in ~/.cache/between).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.transcription import Transcriber, build_transcriber


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.openai)


def _openai_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "whisper_engine": "openai-whisper",
        "whisper_model": "",
        "transcribe_workers": 1,
        "max_voice_seconds": 600,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def openai_settings() -> Callable[..., Settings]:
    """Settings(**overrides) with WHISPER_ENGINE=openai-whisper, no WHISPER_MODEL, and
    nothing read from .env or the machine's environment."""
    return _openai_settings


@pytest.fixture(scope="session")
def transcriber() -> Iterator[Transcriber]:
    """Overrides tests/conftest.py's: what the bot loads for openai-whisper with no model."""
    engine = build_transcriber(_openai_settings())
    yield engine
    engine.close()
