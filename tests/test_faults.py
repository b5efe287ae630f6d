"""Telegram faults injected by the test server: nothing sent is lost and the bot keeps going.

429 is waited out (AIORateLimiter); a 502 or a dropped connection on a call is retried
(bot.retry.RetryingRateLimiter); a timed-out send is logged, not repeated (it may have been
delivered); an unsupported method costs a fallback; polling survives getUpdates failures.
Whatever happens to the reply, the capture is in the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Capture, CaptureStatus
from tests.support.telegram_server import TelegramTestServer

FIXTURES = Path(__file__).parent / "fixtures"
SPEECH: dict[str, str] = json.loads((FIXTURES / "speech.json").read_text())


async def stored_texts(app, user_id: int) -> list[str | None]:
    async with app.bot_data.sessionmaker() as s:
        return list(
            await s.scalars(
                select(Capture.text).where(Capture.user_id == user_id).order_by(Capture.id)
            )
        )


def cards_with(person, text: str) -> int:
    return sum(text in (m.text or "") for m in person.messages)


async def still_answers_help(person) -> None:
    person.command("help")
    assert "/recall" in (await person.next_message(timeout=15)).text


FAULTS: dict[str, Callable[[TelegramTestServer], None]] = {
    "429-retry-after": lambda s: s.fail_next("sendMessage", status=429, retry_after=1),
    "502-bad-gateway": lambda s: s.fail_next("sendMessage", status=502),
    "502-nginx-html": lambda s: s.fail_next(
        "sendMessage", status=502, body="<html><body>502 Bad Gateway</body></html>"
    ),
    "dropped-connection": lambda s: s.drop_next("sendMessage"),
    "two-faults-in-a-row": lambda s: (
        s.fail_next("sendMessage", status=503),
        s.drop_next("sendMessage"),
    ),
}


@pytest.mark.parametrize("inject", FAULTS.values(), ids=FAULTS.keys())
async def test_a_failed_send_is_retried_and_arrives_once(
    server: TelegramTestServer, start_bot, inject
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        inject(server)
        alice.send_text("words that must not be lost")
        card = await alice.next_message(timeout=15)
        assert "words that must not be lost" in card.text
        assert any(r.fault for r in server.requests if r.method == "sendMessage")
        assert await stored_texts(app, 101) == ["words that must not be lost"]
        await still_answers_help(alice)
        assert cards_with(alice, "words that must not be lost") == 1


async def test_a_send_that_keeps_failing_is_logged_and_the_capture_kept(
    server: TelegramTestServer, start_bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        server.fail_next("sendMessage", status=502, times=None)
        alice.send_text("kept even if unanswered")
        await server.wait_for_call("sendMessage", n=3, timeout=10)  # first try and 2 retries
        assert await server.wait_for(
            lambda: any("could not show capture" in r.getMessage() for r in caplog.records), 5
        )
        assert await stored_texts(app, 101) == ["kept even if unanswered"]
        server.clear_faults()
        await still_answers_help(alice)


async def test_a_timed_out_send_is_not_repeated(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        server.delay_next("sendMessage", 5.5)  # longer than PTB's 5 s read timeout
        alice.send_text("slow network words")
        assert await server.wait_for(lambda: bool(server.calls("sendMessage")), 5)
        assert await stored_texts(app, 101) == ["slow network words"]  # stored before replying
        card = await alice.next_message(timeout=10)  # the server did deliver it, late
        assert "slow network words" in card.text
        await still_answers_help(alice)
        assert cards_with(alice, "slow network words") == 1


async def test_polling_survives_get_updates_failures(server: TelegramTestServer, start_bot) -> None:
    async with start_bot():
        alice = server.person(user_id=101, first_name="Alice")
        server.fail_next("getUpdates", status=502)
        server.drop_next("getUpdates")
        server.fail_next("getUpdates", status=429, retry_after=1)
        await still_answers_help(alice)
        faults = [r.fault for r in server.requests if r.method == "getUpdates" and r.fault]
        assert faults == ["error", "drop", "error"]


async def test_unsupported_methods_cost_only_a_fallback(
    server: TelegramTestServer, start_bot
) -> None:
    server.unsupported("editMessageText")
    server.unsupported("sendChatAction", status=400)
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        alice.send_voice(FIXTURES / "speech_01.ogg")
        assert "transcribing" in (await alice.next_message()).text
        shown = await alice.next_message(timeout=30)  # the edit failed: sent anew
        assert "earn rest" in shown.text.lower()
        async with app.bot_data.sessionmaker() as s:
            (capture,) = await s.scalars(select(Capture))
        assert capture.status == CaptureStatus.TRANSCRIBED
        await still_answers_help(alice)


async def test_a_failed_download_keeps_the_memo_for_retry(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        server.fail_next("getFile", status=502, times=None)
        alice.send_voice(FIXTURES / "speech_02.ogg")
        await alice.next_message()  # "transcribing…"
        failed = await alice.next_edit(timeout=20)
        assert "couldn't fetch that memo" in failed.text
        async with app.bot_data.sessionmaker() as s:
            (capture,) = await s.scalars(select(Capture))
        assert capture.status == CaptureStatus.FAILED and capture.file_id
        server.clear_faults()
        alice.command("retry")
        await alice.next_message()  # "Trying 1 memo again…"
        done = await alice.next_message(timeout=30)
        assert "partner" in done.text.lower()


async def test_a_bad_request_is_not_retried(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        server.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
        alice.send_text("a sentence that landed")
        assert await server.wait_for(lambda: bool(server.calls("sendMessage")), 5)
        await still_answers_help(alice)
        refused = [r for r in server.requests if r.method == "sendMessage" and r.fault]
        assert len(refused) == 1  # a 400 answers the same every time: asked once, logged
        assert await stored_texts(app, 101) == ["a sentence that landed"]
