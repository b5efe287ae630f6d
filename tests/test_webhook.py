"""Webhook mode: requests without the right secret token header are refused (403)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import func, select
from telegram import Update

from bot.app import build_application
from bot.config import Settings
from bot.context import BetweenApp, Services
from storage.models import Capture
from tests.support.telegram_server import TelegramTestServer

SECRET = "between-webhook_secret-123"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
PUBLIC_URL = "https://between.example/telegram"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def webhook_bot(
    settings: Settings, transcriber: object, port: int
) -> AsyncIterator[BetweenApp]:
    """The real Application with PTB's webhook server on 127.0.0.1:port, as run_webhook does."""
    services = Services(settings=settings, transcriber=transcriber)  # type: ignore[arg-type]
    app = build_application(settings, services)
    await app.initialize()
    assert app.post_init is not None and app.updater is not None
    await app.post_init(app)
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="telegram",
        webhook_url=PUBLIC_URL,
        secret_token=SECRET,
        allowed_updates=Update.ALL_TYPES,
    )
    await app.start()
    try:
        yield app
    finally:
        services.transcriber = None  # shared across tests
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


async def test_webhook_refuses_requests_without_the_secret_token(
    server: TelegramTestServer, make_settings, transcriber
) -> None:
    port = free_port()
    settings = make_settings(webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    async with webhook_bot(settings, transcriber, port) as app:
        assert server.webhook["url"] == PUBLIC_URL
        assert server.webhook["secret_token"] == SECRET
        alice = server.person(user_id=101, first_name="Alice")
        forged = alice.send_text("forged words").update
        real = alice.send_text("real words").update
        url = f"http://127.0.0.1:{port}/telegram"
        async with httpx.AsyncClient(timeout=10) as client:
            missing = await client.post(url, json=forged)
            wrong = await client.post(url, json=forged, headers={HEADER: SECRET + "x"})
            right = await client.post(url, json=real, headers={HEADER: SECRET})
        assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
        card = await alice.next_message()
        assert "real words" in card.text
        assert await alice.no_message_within(0.5)
        async with app.bot_data.sessionmaker() as s:
            texts = list(await s.scalars(select(Capture.text)))
            count = await s.scalar(select(func.count()).select_from(Capture))
        assert texts == ["real words"] and count == 1
