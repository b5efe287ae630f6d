"""Conversation timeouts hold across a restart: a resumed question never reads forever.

PTB keeps its timeout jobs in memory. The bot drops a persisted state that is past its
conversation's timeout when it loads it, and schedules the rest of the timeout for the
ones it resumes (bot/conversation_timeouts.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from handlers import settings as settings_flow
from storage.db import create_engine, create_sessionmaker
from storage.models import Capture, ConversationState, User
from storage.sessions import utcnow
from tests.support.eventually import eventually
from tests.support.rows import add_user, db_of
from tests.support.telegram_server import TelegramTestServer


async def _age_settings_state(database_url: str, quiet_for: timedelta) -> None:
    """Makes the stored settings conversation look quiet for `quiet_for` (bot stopped)."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as s, s.begin():
            result = await s.execute(
                update(ConversationState)
                .where(ConversationState.name == "settings")
                .values(updated_at=utcnow() - quiet_for)
            )
            assert result.rowcount == 1  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def _ask_for_the_time_zone(server: TelegramTestServer, start_bot, user_id: int) -> None:
    person = server.person(user_id=user_id)
    async with start_bot() as app:
        await add_user(db_of(app), user_id, tz="Europe/Berlin")
        person.command("settings")
        menu = await person.next_message()
        person.press("Time zone", menu)
        assert "Send a city" in (await person.next_message()).text


async def _zone_and_captures(app, user_id: int) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    async with db_of(app)() as s:
        user = await s.get(User, user_id)
        rows = await s.scalars(select(Capture.text).where(Capture.user_id == user_id))
        return (user.timezone if user else ""), [t or "" for t in rows]


async def test_a_question_left_past_its_timeout_is_not_resumed_after_a_restart(
    server: TelegramTestServer, start_bot, database_url: str
) -> None:
    await _ask_for_the_time_zone(server, start_bot, 811)
    await _age_settings_state(database_url, settings_flow.TIMEOUT + timedelta(minutes=1))
    person = server.person(user_id=811)
    async with start_bot() as app:
        person.send_text("Europe/Paris")
        card = await person.next_message()
        assert card.text.startswith("Europe/Paris\n\nSaved to your")  # a capture, not a setting
        assert await _zone_and_captures(app, 811) == ("Europe/Berlin", ["Europe/Paris"])


async def test_the_rest_of_a_resumed_timeout_still_ends_the_question(
    server: TelegramTestServer, start_bot, database_url: str
) -> None:
    await _ask_for_the_time_zone(server, start_bot, 812)
    await _age_settings_state(database_url, settings_flow.TIMEOUT - timedelta(seconds=2))
    person = server.person(user_id=812)
    async with start_bot() as app:

        async def ended() -> bool:
            async with db_of(app)() as s:
                row = await s.scalar(
                    select(ConversationState).where(ConversationState.name == "settings")
                )
                return row is None

        assert not await ended()  # resumed at first
        assert await eventually(ended)  # and ended when the rest of its timeout ran out
        person.send_text("Europe/Paris")
        card = await person.next_message()
        assert card.text.startswith("Europe/Paris\n\nSaved to your")
        assert await _zone_and_captures(app, 812) == ("Europe/Berlin", ["Europe/Paris"])


async def test_a_resumed_question_within_its_timeout_still_takes_the_answer(
    server: TelegramTestServer, start_bot, database_url: str
) -> None:
    await _ask_for_the_time_zone(server, start_bot, 813)
    await _age_settings_state(database_url, timedelta(minutes=5))
    person = server.person(user_id=813)
    async with start_bot() as app:
        person.send_text("Europe/Paris")
        assert (await person.next_message()).text == "Saved."
        assert await _zone_and_captures(app, 813) == ("Europe/Paris", [])
