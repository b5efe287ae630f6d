"""DatabasePersistence on a real SQLite file: round trips, stale states, encryption, restarts."""

from __future__ import annotations

from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import OperationalError

from bot.app import open_database
from bot.context import Services
from storage.models import ConversationState, User
from storage.persistence import USER_DATA, DatabasePersistence
from storage.sessions import utcnow
from tests.support.telegram_server import TelegramTestServer


async def test_round_trip_and_stale_states(make_settings) -> None:
    services = Services(settings=make_settings())
    persistence = DatabasePersistence(services, open_database)
    try:
        # PTB asks before post_init: the persistence opens the database itself
        assert await persistence.get_conversations("reflection") == {}
        assert services.sessionmaker is not None
        await persistence.update_conversation("reflection", (7, 7), 2)
        await persistence.update_conversation("reflection", (8, 8), 0)
        await persistence.update_conversation("settings", (7, 7), 1)
        await persistence.update_user_data(7, {"reflection_id": 3, "setting": "tz"})
        await persistence.update_user_data(8, {})  # empty: nothing stored

        assert await persistence.get_conversations("reflection") == {(7, 7): 2, (8, 8): 0}
        assert await persistence.get_conversations("settings") == {(7, 7): 1}
        assert await persistence.get_user_data() == {7: {"reflection_id": 3, "setting": "tz"}}

        # ended conversations are deleted, and rows know their person (for /delete)
        await persistence.update_conversation("reflection", (8, 8), None)
        async with services.sessionmaker() as s:
            rows = list(await s.scalars(select(ConversationState)))
        assert {(r.name, r.key, r.user_id) for r in rows} == {
            ("reflection", "[7,7]", 7),
            ("settings", "[7,7]", 7),
            (USER_DATA, "7", 7),
        }

        # a conversation quiet for longer than max_age is not resumed, and its row goes
        async with services.sessionmaker() as s, s.begin():
            await s.execute(
                update(ConversationState)
                .where(ConversationState.name == "settings")
                .values(updated_at=utcnow() - timedelta(hours=13))
            )
        assert await persistence.get_conversations("settings") == {}
        async with services.sessionmaker() as s:
            left = await s.scalar(
                select(ConversationState).where(ConversationState.name == "settings")
            )
        assert left is None

        await persistence.drop_user_data(7)
        assert await persistence.get_user_data() == {}
    finally:
        assert services.engine is not None
        await services.engine.dispose()


async def test_states_are_encrypted_at_rest(make_settings) -> None:
    services = Services(settings=make_settings(encryption_key=Fernet.generate_key().decode()))
    persistence = DatabasePersistence(services, open_database)
    try:
        await persistence.get_conversations("reflection")
        await persistence.update_user_data(5, {"setting": "evening"})
        assert services.engine is not None
        async with services.engine.connect() as connection:
            raw = await connection.scalar(text("SELECT state FROM conversation_states"))
        assert raw.startswith("fernet:") and "evening" not in raw
        assert await persistence.get_user_data() == {5: {"setting": "evening"}}
    finally:
        assert services.engine is not None
        await services.engine.dispose()


async def test_settings_question_survives_a_restart(server: TelegramTestServer, start_bot) -> None:
    erin = server.person(user_id=501, first_name="Erin")
    async with start_bot():
        erin.command("settings")
        await erin.next_message()
        erin.press("set:evening")
        assert "evening" in (await erin.next_message()).text
    async with start_bot() as app:
        erin.send_text("21:15")
        assert (await erin.next_message()).text == "Saved."
        async with app.bot_data.sessionmaker() as s:
            row = await s.get(User, 501)
        assert row is not None and f"{row.evening_time:%H:%M}" == "21:15"


async def test_user_data_as_stored_is_not_written_again(make_settings) -> None:
    """PTB hands over user_data after every update; only a change costs a write."""
    services = Services(settings=make_settings())
    persistence = DatabasePersistence(services, open_database)
    writes: list[str] = []
    failing: list[str] = []

    def record(_conn, _cursor, statement: str, *_args: object) -> None:
        if "conversation_states" in statement and not statement.startswith("SELECT"):
            writes.append(statement.split()[0])
            if failing:
                failing.pop()
                raise OperationalError(statement, {}, Exception("database is locked"))

    try:
        await persistence.get_conversations("reflection")  # opens the database
        await persistence.update_user_data(7, {"setting": "tz"})  # before startup's read
        assert await persistence.get_user_data() == {7: {"setting": "tz"}}
        assert services.engine is not None
        event.listen(services.engine.sync_engine, "before_cursor_execute", record)

        await persistence.update_user_data(7, {"setting": "tz"})  # as stored
        await persistence.update_user_data(8, {})  # no row, and none needed
        await persistence.drop_user_data(9)
        assert writes == []

        await persistence.update_user_data(7, {"setting": "evening"})
        await persistence.update_user_data(8, {"trg_cue": "money"})
        await persistence.update_user_data(8, {"trg_cue": "money"})
        assert writes == ["UPDATE", "INSERT"]

        failing.append("once")
        await persistence.update_user_data(8, {})  # the delete fails: the row stays
        await persistence.update_user_data(8, {})  # so the next one is written after all
        assert writes == ["UPDATE", "INSERT", "DELETE", "DELETE"]
        await persistence.drop_user_data(7)
        await persistence.update_user_data(7, {})
        assert writes == ["UPDATE", "INSERT", "DELETE", "DELETE", "DELETE"]
        assert await persistence.get_user_data() == {}
    finally:
        assert services.engine is not None
        await services.engine.dispose()
