"""Webhook mode end to end: the test server POSTs updates to PTB's webhook server, as Telegram
does (the public https URL routed to local http replicas, tests/support/webhook_delivery.py).

Requests without the right secret token header are refused (403); a person's whole flow works
through delivered updates; and two replicas on one PostgreSQL database behind the one URL,
updates of one person landing on either in turn, answer each step once and in order
(bot/replicas.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update
from telegram import Update

from bot.app import build_application
from bot.config import Settings
from bot.context import BetweenApp, Services
from bot.replicas import holds_of
from bot.texts import DAY_NAMES
from handlers import settings as settings_flow
from storage.models import Capture, ConversationState, Reflection, ReflectionStatus, User
from storage.sessions import utcnow
from tests.support.eventually import eventually
from tests.support.ports import free_port
from tests.support.rows import add_user, db_of
from tests.support.telegram_server import TelegramTestServer

SECRET = "between-webhook_secret-123"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
PUBLIC_URL = "https://between.example/telegram"
FIXTURES = Path(__file__).parent / "fixtures"


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
        await app.updater.stop()
        await app.stop()  # lets background work finish first
        services.transcriber = None  # shared across tests
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


def held(app: BetweenApp) -> int:
    """How many people the replica holds now (it wrote what they changed once it let go)."""
    holds = holds_of(app)
    assert holds is not None
    return holds.holding()


def local_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/telegram"


async def onboard(alice) -> None:
    """/start, a time zone, a therapy time: each answer's reply comes once, in order."""
    # therapy three days ahead: no evening prompt can fall due between the replies
    day = DAY_NAMES[(datetime.now(ZoneInfo("Europe/Berlin")).weekday() + 3) % 7][:3].lower()
    alice.command("start")
    assert "Between" in (await alice.next_message()).text
    assert "time zone" in (await alice.next_message()).text
    alice.send_text("berlin")
    assert "Europe/Berlin" in (await alice.next_message()).text
    assert "therapy" in (await alice.next_message()).text
    alice.send_text(f"{day} 17:00")
    assert "at 17:00" in (await alice.next_message()).text
    assert "You're set" in (await alice.next_message()).text
    assert await alice.no_message_within(0.5)


async def test_delivered_updates_carry_a_person_through_onboarding(
    server: TelegramTestServer, make_settings, transcriber
) -> None:
    port = free_port()
    server.route_webhook(PUBLIC_URL, local_url(port))
    settings = make_settings(webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    async with webhook_bot(settings, transcriber, port) as app:
        alice = server.person(user_id=101, first_name="Alice")
        await onboard(alice)
        async with app.bot_data.sessionmaker() as s:
            user = await s.get(User, 101)
        assert user is not None and user.onboarded and user.timezone == "Europe/Berlin"
        assert {a.status for a in server.delivery.attempts} == {200}
        assert not server.calls("getUpdates")  # every update came by webhook


async def test_a_delivery_with_a_wrong_or_missing_token_is_refused_and_retried(
    server: TelegramTestServer, make_settings, transcriber
) -> None:
    port = free_port()
    server.route_webhook(PUBLIC_URL, local_url(port))
    settings = make_settings(webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    async with webhook_bot(settings, transcriber, port) as app:
        alice = server.person(user_id=101, first_name="Alice")
        server.delivery.forged_secret = SECRET + "x"
        alice.send_text("words sent while the token is wrong")
        assert await eventually(lambda: len(server.delivery.attempts) >= 2)
        server.delivery.forged_secret = ""  # no header at all
        count = len(server.delivery.attempts)
        assert await eventually(lambda: len(server.delivery.attempts) >= count + 2)
        assert {a.status for a in server.delivery.attempts} == {403}
        async with app.bot_data.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Capture)) == 0
        server.delivery.forged_secret = None  # Telegram's own header again: the retry lands
        card = await alice.next_message()
        assert "words sent while the token is wrong" in card.text
        assert server.delivery.attempts[-1].status == 200


async def test_two_replicas_behind_one_url_keep_a_persons_conversation_in_order(
    server: TelegramTestServer, make_settings, transcriber, database_kind: str
) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL only: replicas share one database (SQLite is one process)")
    ports = free_port(), free_port()
    server.route_webhook(PUBLIC_URL, *(local_url(p) for p in ports))
    settings = make_settings(webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    async with (
        webhook_bot(settings, transcriber, ports[0]) as first,
        webhook_bot(settings, transcriber, ports[1]) as second,
    ):
        alice = server.person(user_id=101, first_name="Alice")
        await onboard(alice)
        landed = [a.backend for a in server.delivery.attempts if a.chat_id == 101]
        assert landed == [local_url(p) for p in (*ports, ports[0])]  # A, B, A in turn
        # each replica's memory follows the database: neither holds a stale question
        for app in (first, second):
            async with app.bot_data.sessionmaker() as s:
                user = await s.get(User, 101)
            assert user is not None and user.onboarded

        # many people at once, each capture landing on either replica: stored and answered once
        people = [server.person(user_id=300 + n, first_name=f"P{n}") for n in range(8)]
        for round_ in range(3):
            for person in people:
                person.send_text(f"capture {round_} from {person.user_id}")
        for person in people:
            for round_ in range(3):
                card = await person.next_message()
                assert f"capture {round_} from {person.user_id}" in card.text
        for person in people:
            assert await person.no_message_within(0.2)
        async with first.bot_data.sessionmaker() as s:
            rows = list(await s.execute(select(Capture.user_id, Capture.text)))
        expected = sorted(
            (p.user_id, f"capture {r} from {p.user_id}") for p in people for r in range(3)
        )
        assert sorted((row[0], row[1]) for row in rows) == expected
        backends = {a.backend for a in server.delivery.attempts if a.chat_id in range(300, 308)}
        assert backends == {local_url(p) for p in ports}


async def test_a_conversation_past_its_timeout_is_ended_by_whichever_replica_takes_the_person(
    server: TelegramTestServer, make_settings, transcriber, database_kind: str
) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL only: replicas share one database (SQLite is one process)")
    ports = free_port(), free_port()
    server.route_webhook(PUBLIC_URL, *(local_url(p) for p in ports))
    settings = make_settings(webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    async with (
        webhook_bot(settings, transcriber, ports[0]) as first,
        webhook_bot(settings, transcriber, ports[1]) as second,
    ):
        await add_user(db_of(first), 811, tz="Europe/Berlin")
        person = server.person(user_id=811)
        person.command("settings")  # replica A
        menu = await person.next_message()
        person.press("Time zone", menu)  # replica B asks
        assert "Send a city" in (await person.next_message()).text
        assert await eventually(lambda: not any(held(app) for app in (first, second)))
        # the question has been open longer than its timeout (no replica's job fired yet)
        async with db_of(first)() as s, s.begin():
            await s.execute(
                update(ConversationState)
                .where(ConversationState.name == "settings")
                .values(updated_at=utcnow() - settings_flow.TIMEOUT - timedelta(minutes=1))
            )
        person.send_text("tokyo")  # replica A: takes the person, finds the question expired
        card = await person.next_message()
        assert "tokyo" in card.text and "Saved" in card.text  # kept as a capture
        async with db_of(first)() as s:
            user = await s.get(User, 811)
            states = await s.scalar(
                select(func.count())
                .select_from(ConversationState)
                .where(ConversationState.name == "settings")
            )
        assert user is not None and user.timezone == "Europe/Berlin"
        assert states == 0
        landed = [a.backend for a in server.delivery.attempts if a.chat_id == 811]
        assert landed == [local_url(p) for p in (*ports, ports[0])]


async def test_a_reflection_goes_on_whichever_replica_each_answer_lands_on(
    server: TelegramTestServer, make_settings, transcriber, database_kind: str
) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL only: replicas share one database (SQLite is one process)")
    ports = free_port(), free_port()
    server.route_webhook(PUBLIC_URL, *(local_url(p) for p in ports))
    settings = make_settings(webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    async with (
        webhook_bot(settings, transcriber, ports[0]) as first,
        webhook_bot(settings, transcriber, ports[1]),
    ):
        alice = server.person(user_id=401, first_name="Alice")
        alice.send_text("I don't have to earn rest.")  # A: the person and today's session
        assert "earn rest" in (await alice.next_message()).text
        alice.command("reflect")  # B: the cue, the how-to line, question 1
        opening = [(await alice.next_message()).text for _ in range(3)]
        assert "What was the thing?" in opening[2]
        alice.send_text("rest is not a prize")  # A
        assert "Why does it matter" in (await alice.next_message()).text
        alice.send_text("i stop working until i collapse")  # B
        assert "What does the changed version of me do" in (await alice.next_message()).text
        alice.send_text("I take Sunday afternoon off")  # A
        review = await alice.next_message()
        paragraph = (
            "Rest is not a prize. I stop working until i collapse. I take Sunday afternoon off."
        )
        assert paragraph in review.text
        alice.press("✓ Save", review)  # B
        card = await alice.next_message()
        assert card.text.endswith(paragraph)
        await alice.next_message()  # the offer to set a moment
        assert await alice.no_message_within(0.5)
        async with db_of(first)() as s:
            saved = list(await s.scalars(select(Reflection)))
        assert [(r.status, r.paragraph) for r in saved] == [(ReflectionStatus.SAVED, paragraph)]
        landed = [a.backend for a in server.delivery.attempts if a.chat_id == 401]
        assert landed == [local_url(ports[n % 2]) for n in range(6)]


async def test_a_spoken_answer_heard_on_one_replica_is_confirmed_on_the_other(
    server: TelegramTestServer, make_settings, transcriber, database_kind: str
) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL only: replicas share one database (SQLite is one process)")
    ports = free_port(), free_port()
    server.route_webhook(PUBLIC_URL, *(local_url(p) for p in ports))
    settings = make_settings(webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    async with (
        webhook_bot(settings, transcriber, ports[0]) as first,
        webhook_bot(settings, transcriber, ports[1]),
    ):
        bob = server.person(user_id=402, first_name="Bob")
        bob.command("reflect")  # A
        opening = [(await bob.next_message()).text for _ in range(3)]
        assert "What was the thing?" in opening[2]
        bob.send_voice(FIXTURES / "speech_03.ogg")  # B hears it (a block=False step)
        heard = await bob.next_message(timeout=60)
        assert heard.text.startswith("I heard:")
        bob.press("✓ Yes", heard)  # A: waits until B has heard it and let go, then reads it
        assert "Why does it matter" in (await bob.next_message()).text
        assert await bob.no_message_within(0.5)
        async with db_of(first)() as s:
            (draft,) = list(await s.scalars(select(Reflection)))
        assert draft.step == 2 and draft.answer_what and "say no" in draft.answer_what.lower()
        landed = [a.backend for a in server.delivery.attempts if a.chat_id == 402]
        assert landed == [local_url(ports[n % 2]) for n in range(3)]
