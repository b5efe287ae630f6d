"""The bot's own process freezes what startup left alive out of the garbage collector's way."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from bot import __main__ as entry
from bot.app import build_application, freeze_startup_heap, post_init, post_init_and_freeze
from bot.config import Settings


def test_only_the_bots_own_process_freezes_its_heap(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    assert build_application(settings).post_init is post_init  # tests build many: never
    assert build_application(settings, freeze_heap=True).post_init is post_init_and_freeze

    built: dict[str, object] = {}

    class Built(Exception):
        pass

    def build(_settings: Settings, **options: object) -> None:
        built.update(options)
        raise Built

    async def no_key_check(_settings: Settings) -> None:
        return None

    monkeypatch.setattr(entry, "check_key", no_key_check)
    monkeypatch.setattr("bot.app.build_application", build)
    with pytest.raises(Built):
        entry.run_bot(settings)
    assert built == {"freeze_heap": True}


def test_a_frozen_heap_leaves_a_full_collection_little_to_walk() -> None:
    assert gc.get_freeze_count() == 0
    tracked = len(gc.get_objects())
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= tracked // 2
        assert len(gc.get_objects()) < tracked // 10  # what decode_audio's gc.collect() walks
    finally:
        gc.unfreeze()
