"""The one-tap 🔁 Recall button, end to end over real HTTP: shown after onboarding, answers
exactly as /recall in one message, is never a capture, and /settings turns it off."""

from __future__ import annotations

from bot import texts
from storage.models import RecallSource
from tests.support.rows import add_reflection, add_user, captures, db_of, recalls_of, settled
from tests.support.rows import user_of as row_of
from tests.support.telegram_server import TelegramTestServer

KEY = "🔁 Recall"


async def test_onboarding_leaves_the_button_and_the_menu_lists_recall(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot():
        await server.wait_for_call("setMyCommands")
        assert "recall" in [c["command"] for c in server.bot_commands()]
        alice = server.person(user_id=1101)
        alice.command("start")
        await alice.next_message()  # what this is
        ask = await alice.next_message()
        alice.press("UTC", ask)
        await alice.next_message()  # time zone set
        await alice.next_message()  # the therapy question
        alice.command("skip")
        await alice.next_message()  # no fixed day
        done = await alice.next_message()
        assert done.text == texts.ONBOARDED
        assert done.keyboard == [[KEY]]
        assert done.reply_markup is not None
        assert done.reply_markup.get("is_persistent") is True
        assert done.reply_markup.get("resize_keyboard") is True


async def test_a_tap_answers_exactly_as_recall_and_is_not_a_capture(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 1102)
        await add_reflection(db, 1102, "Rest is not a prize", "I work until I collapse.", "Sun.")
        alice = server.person(user_id=1102)
        alice.command("recall")
        typed = await alice.next_message()
        await settled(lambda: _shown(db, 1102, typed.message_id))

        alice.send_text(KEY)
        tapped = await alice.next_message()
        assert (tapped.text, tapped.parse_mode) == (typed.text, typed.parse_mode)
        assert tapped.text.startswith("Rest is not a prize")
        assert tapped.button_texts == typed.button_texts
        # its recall is stored with this message: the handler is done, and it sent one message
        first, second = await settled(lambda: _shown(db, 1102, tapped.message_id))
        assert alice.take_all() == []
        assert (first.source, second.source) == (RecallSource.COMMAND, RecallSource.COMMAND)
        assert await captures(app, 1102) == []  # the tap is not kept as a capture


async def _shown(db, user_id: int, message_id: int):  # type: ignore[no-untyped-def]
    rows = await recalls_of(db, user_id)
    return rows if rows and rows[-1].message_id == message_id else None


async def test_settings_turn_the_button_off_and_on(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        await add_user(db_of(app), 1103)
        alice = server.person(user_id=1103)
        alice.command("settings")
        menu = await alice.next_message()
        assert "Recall button: on" in menu.text
        alice.press("Recall button", menu)
        off = await alice.next_message()
        assert off.text == texts.RECALL_KEY_OFF
        assert off.reply_markup == {"remove_keyboard": True}
        assert "Recall button: off" in (await alice.next_message()).text
        user = await row_of(app, 1103)
        assert user is not None and user.recall_keyboard is False
        alice.command("help")  # /help no longer brings the button back
        assert (await alice.next_message()).reply_markup is None

        alice.command("settings")
        alice.press("Recall button", await alice.next_message())
        on = await alice.next_message()
        assert on.text == texts.RECALL_KEY_ON and on.keyboard == [[KEY]]
        assert "Recall button: on" in (await alice.next_message()).text
        user = await row_of(app, 1103)
        assert user is not None and user.recall_keyboard is True
