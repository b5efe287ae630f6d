"""The local Bot API server and person helpers, checked with PTB's real Bot and HTTP stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.support.eventually import eventually
from tests.support.telegram_server import TelegramTestServer
from tests.support.webhook_delivery import HEADER as WEBHOOK_HEADER

TOKEN = "123456:TEST-server-token"


@pytest.fixture
async def srv() -> AsyncIterator[TelegramTestServer]:
    async with TelegramTestServer(token=TOKEN) as server:
        yield server


@pytest.fixture
async def bot(srv: TelegramTestServer) -> AsyncIterator[Bot]:
    api = Bot(TOKEN, base_url=srv.base_url, base_file_url=srv.base_file_url)
    async with api:
        yield api


async def test_get_me(srv: TelegramTestServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, srv.bot_username)
    assert srv.calls("getMe")


async def test_long_poll_waits_for_the_update(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101, first_name="Alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await srv.wait_for_call("getUpdates")
    assert not await eventually(poll.done, within=0.2)  # the poll is held open

    alice.send_text("/start hello")
    updates = await asyncio.wait_for(poll, 3)  # answered on arrival, well before its 5 s
    (update,) = updates
    message = update.message
    assert message is not None and message.text == "/start hello"
    assert message.chat.id == message.from_user.id == 101
    assert message.chat.type == "private"
    assert message.parse_entities() == {message.entities[0]: "/start"}

    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert srv.pending_updates == []


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = asyncio.get_running_loop().time()
    assert await bot.get_updates(timeout=0.5) == ()
    assert asyncio.get_running_loop().time() - started >= 0.45


async def test_a_second_poller_conflicts_the_first(srv: TelegramTestServer, bot: Bot) -> None:
    other = Bot(TOKEN, base_url=srv.base_url, base_file_url=srv.base_file_url)
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await srv.wait_for_call("getUpdates")
    async with other:
        second = asyncio.create_task(other.get_updates(timeout=5))
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await first
        srv.person(user_id=101).send_text("hi")
        assert len(await second) == 1


async def test_press_raw_on_unknown_message(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    alice.press_raw("forged:1", message_id=77)
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "forged:1"
    assert query.message is not None and not query.message.is_accessible


async def test_unconfirmed_updates_are_redelivered_and_limit_applies(
    srv: TelegramTestServer, bot: Bot
) -> None:
    alice = srv.person(user_id=101)
    first = alice.send_text("one")
    alice.send_text("two")
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first.update_id]
    assert len(await bot.get_updates()) == 2
    assert len(await bot.get_updates(allowed_updates=["callback_query"])) == 0


async def test_message_with_keyboard_then_press_and_edit(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101, first_name="Alice")
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data="c:yes")],
            [InlineKeyboardButton("Docs", url="https://example.org")],
        ]
    )
    sent = await bot.send_message(101, "Keep it?", reply_markup=keyboard)
    assert sent.reply_markup == keyboard

    shown = await alice.next_message()
    assert shown.text == "Keep it?" and shown.message_id == sent.message_id
    assert shown.buttons == [[("Yes", "c:yes")], [("Docs", None)]]

    pressed = alice.press("Yes")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "c:yes" and query.id == pressed.callback_query_id
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await query.answer("Saved")
    assert alice.callback_answers == [{"callback_query_id": query.id, "text": "Saved"}]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()

    await bot.edit_message_text("Kept.", chat_id=101, message_id=sent.message_id)
    edit = await alice.next_edit()
    assert (edit.text, edit.buttons) == ("Kept.", [])  # no reply_markup removes the keyboard
    assert alice.current(shown).text == "Kept." and shown.text == "Keep it?"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Kept.", chat_id=101, message_id=sent.message_id)
    with pytest.raises(LookupError):
        alice.press("Yes")


async def test_next_message_order_and_no_message_within(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    for text in ("one", "two"):
        await bot.send_message(101, text)
    assert (await alice.next_message()).text == "one"
    assert (await alice.next_message()).text == "two"
    assert await alice.no_message_within(0.2)
    waiting = asyncio.create_task(alice.no_message_within(5))
    await bot.send_message(101, "three")
    assert not await asyncio.wait_for(waiting, 1)  # wakes on arrival, not at the timeout
    assert (await alice.next_message()).text == "three"
    assert [m.text for m in alice.messages] == ["one", "two", "three"]
    with pytest.raises(TimeoutError):
        await alice.next_message(timeout=0.1)


async def test_message_ids_are_shared_per_chat(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    bob = srv.person(user_id=202, first_name="Bob")
    first = alice.send_text("hi")
    reply = await bot.send_message(101, "hello", reply_to_message_id=first.message_id)
    other = await bot.send_message(202, "hey")
    assert first.message_id is not None
    assert reply.message_id == first.message_id + 1
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "hi"
    assert other.message_id == 1
    assert bob.messages[0].text == "hey"


async def test_voice_round_trip_through_get_file(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    audio = b"OggS" + bytes(range(256)) * 40
    alice.send_voice(audio, duration=7)
    (update,) = await bot.get_updates()
    voice = update.message.voice  # type: ignore[union-attr]
    assert voice is not None
    assert voice.to_dict() | {"file_id": "", "file_unique_id": ""} == {
        "file_id": "",
        "file_unique_id": "",
        "duration": 7,
        "mime_type": "audio/ogg",
        "file_size": len(audio),
    }
    file = await bot.get_file(voice.file_id)
    assert file.file_path and file.file_path.startswith(srv.base_file_url)
    assert bytes(await file.download_as_bytearray()) == audio


async def test_fake_large_and_long_voice(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    sent = alice.send_voice(b"OggS-small", duration=3 * 3600, file_size=25 * 1024 * 1024)
    (update,) = await bot.get_updates()
    voice = update.message.voice  # type: ignore[union-attr]
    assert voice is not None and voice.file_size == 25 * 1024 * 1024
    assert voice.file_id == sent.file_id
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(voice.file_id)


async def test_person_media_helpers_parse(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    alice.send_audio(b"ID3-audio", duration=30, title="Song")
    alice.send_video_note(b"mp4-note", duration=12)
    alice.send_document(b"notes", file_name="notes.txt")
    alice.send_photo(caption="look")
    alice.send_sticker()
    alice.forward_text("forwarded words", origin_name="Carol")
    alice.send_group_text("/help@between_test_bot")
    edited = alice.send_text("typo")
    alice.edit_message(edited, "fixed")
    updates = await bot.get_updates()
    messages = [u.effective_message for u in updates]
    assert messages[0].audio.title == "Song"  # type: ignore[union-attr]
    assert messages[1].video_note.length == 240  # type: ignore[union-attr]
    assert messages[2].document.file_name == "notes.txt"  # type: ignore[union-attr]
    assert messages[3].photo and messages[3].caption == "look"  # type: ignore[union-attr]
    assert messages[4].sticker.emoji == "👍"  # type: ignore[union-attr]
    origin = messages[5].forward_origin  # type: ignore[union-attr]
    assert origin is not None and origin.sender_user_name == "Carol"  # type: ignore[attr-defined]
    group = messages[6]
    assert group is not None and group.chat.type == "group" and group.chat.id < 0
    assert updates[8].edited_message is not None and updates[8].edited_message.text == "fixed"


async def test_send_document_is_stored_with_bytes(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    payload = "Notes: ünïcode ✓\n".encode() * 100
    sent = await bot.send_document(
        101, InputFile(payload, filename="export.txt"), caption="Your export"
    )
    assert sent.document is not None and sent.document.file_name == "export.txt"
    shown = await alice.next_message()
    assert shown.document is not None
    assert (shown.document.filename, shown.document.data) == ("export.txt", payload)
    assert shown.text == shown.caption == "Your export"
    assert srv.calls("sendDocument")[0]["caption"] == "Your export"


async def test_html_is_parsed_like_telegram_and_markdown_refused(
    srv: TelegramTestServer, bot: Bot
) -> None:
    alice = srv.person(user_id=101)
    await bot.send_message(101, "<b>Bold</b> &amp; <i>it</i>", parse_mode=ParseMode.HTML)
    shown = await alice.next_message()
    assert shown.text == "Bold & it"
    assert [(e["type"], e["offset"], e["length"]) for e in shown.entities] == [
        ("bold", 0, 4),
        ("italic", 7, 2),
    ]
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(101, "1 < 2 <b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)not supported by the test server"):
        await bot.send_message(101, "*Done*", parse_mode=ParseMode.MARKDOWN_V2)  # bot: HTML only
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(101, "   ")


async def test_requests_are_recorded(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    await bot.set_my_commands([("start", "Begin"), ("recall", "Find a memo")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "recall"]
    assert await bot.send_chat_action(101, "typing")
    assert alice.chat_actions == ["typing"]
    assert await alice.next_chat_action() == "typing"
    assert srv.calls("setMyCommands")[0]["commands"][1]["command"] == "recall"
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "nobody")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    srv.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
        await bot.send_message(101, "hi")
    await bot.send_message(101, "hi")
    assert [m.text for m in alice.messages] == ["hi"]
    assert len(srv.calls("sendMessage")) == 2


async def test_server_errors_timeouts_and_drops(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    srv.fail_next("sendMessage", status=502, body="<html>502 Bad Gateway</html>")
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(101, "a")
    srv.fail_next("*", status=500)
    with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
        await bot.send_chat_action(101, "typing")
    srv.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(101, "b")
    srv.delay_next("sendMessage", 1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(101, "c", read_timeout=0.2)
    # Like Telegram, a timed-out call may still take effect.
    assert (await alice.next_message(timeout=3)).text == "c"
    assert [m.text for m in alice.messages] == ["c"]


async def test_unsupported_methods(srv: TelegramTestServer, bot: Bot) -> None:
    srv.unsupported("setMyCommands")
    with pytest.raises(InvalidToken, match=r"(?i)method not found"):
        await bot.set_my_commands([("start", "Begin")])
    srv.unsupported("setMyDescription", status=400)
    with pytest.raises(BadRequest, match=r"(?i)not supported"):
        await bot.set_my_description("hi")


async def test_wrong_token_is_rejected(srv: TelegramTestServer) -> None:
    wrong = Bot("999:wrong", base_url=srv.base_url, base_file_url=srv.base_file_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    with pytest.raises(InvalidToken, match=r"(?i)Unauthorized"):
        await wrong.get_me()


async def test_blocked_person(srv: TelegramTestServer, bot: Bot) -> None:
    alice = srv.person(user_id=101)
    alice.block_bot()
    (update,) = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.send_message(101, "still there?")


async def test_raw_http_shapes(srv: TelegramTestServer) -> None:
    srv.person(user_id=101)
    async with aiohttp.ClientSession() as http:
        url = f"{srv.base_url}{TOKEN}"
        async with http.get(f"{url}/GETME") as response:
            assert (await response.json())["result"]["id"] == 123456
        async with http.post(f"{url}/sendmessage", json={"chat_id": 101, "text": "j"}) as resp:
            assert (await resp.json())["result"]["text"] == "j"
        form = {"chat_id": "101", "text": "123"}
        async with http.post(f"{url}/sendMessage", data=form) as resp:
            assert (await resp.json())["result"]["text"] == "123"
        async with http.post(f"{url}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.post(f"{srv.base_url}1:bad/getMe") as resp:
            assert resp.status == 401
            assert (await resp.json())["description"] == "Unauthorized"
        srv.fail_next("getMe", retry_after=5)
        async with http.post(f"{url}/getMe") as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 5",
                "parameters": {"retry_after": 5},
            }
    assert srv.unknown_methods == ["noSuchMethod"]


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets with a button."""
    assert update.effective_chat is not None
    button = InlineKeyboardButton("Go", callback_data="go")
    await context.bot.send_chat_action(update.effective_chat.id, "typing")
    await update.effective_chat.send_message(
        "Welcome", reply_markup=InlineKeyboardMarkup([[button]])
    )


async def _go(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the button and edits the message."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text("Gone")


async def test_real_application_polls_and_replies(srv: TelegramTestServer) -> None:
    app: Application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(srv.base_url)
        .base_file_url(srv.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_go))
    alice = srv.person(user_id=101)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            alice.send_command("/start")
            welcome = await alice.next_message()
            assert welcome.text == "Welcome" and welcome.buttons == [[("Go", "go")]]
            assert alice.chat_actions == ["typing"]
            pressed = await alice.press("Go")
            assert (await alice.next_edit()).text == "Gone"
            assert await srv.wait_delivered()
            assert pressed.callback_query_id in srv.callback_answers
            assert await alice.no_message_within(0.2)
        finally:
            await app.updater.stop()
            await app.stop()


# --------------------------------------------------------------------------- webhook delivery


@asynccontextmanager
async def backend(statuses: list[int]) -> AsyncIterator[tuple[str, list[tuple[int, str | None]]]]:
    """A local http endpoint recording (update_id, secret header); answers `statuses` in turn,
    then 200."""
    seen: list[tuple[int, str | None]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((body["update_id"], request.headers.get(WEBHOOK_HEADER)))
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hook", seen
    finally:
        await runner.cleanup()


async def test_webhook_needs_https(srv: TelegramTestServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://between.example/hook")


async def test_webhook_delivery_posts_with_the_secret_and_retries_until_accepted(
    srv: TelegramTestServer, bot: Bot
) -> None:
    alice = srv.person(user_id=101, first_name="Alice")
    async with backend([500, 502]) as (url, seen):
        srv.route_webhook("https://between.example/hook", url)
        await bot.set_webhook("https://between.example/hook", secret_token="s3cret")
        first = alice.send_text("one")
        second = alice.send_text("two")
        assert await eventually(lambda: len(seen) == 4)
        # refused twice, then accepted; the chat's next update only after that
        assert [u for u, _ in seen] == [first.update_id] * 3 + [second.update_id]
        assert {secret for _, secret in seen} == {"s3cret"}
        assert await eventually(lambda: not srv.pending_updates)
        assert [a.status for a in srv.delivery.attempts] == [500, 502, 200, 200]
        with pytest.raises(Conflict):
            await bot.get_updates()


async def test_webhook_delivery_takes_backends_in_turn_one_update_per_chat_in_flight(
    srv: TelegramTestServer, bot: Bot
) -> None:
    people = [srv.person(user_id=100 + n, first_name=f"P{n}") for n in range(3)]
    async with backend([]) as (one, seen_one), backend([]) as (two, seen_two):
        srv.route_webhook("https://between.example/hook", one, two)
        for n in range(3):
            for person in people:
                person.send_text(f"{n}")
        await bot.set_webhook("https://between.example/hook")
        assert await eventually(lambda: len(seen_one) + len(seen_two) == 9)
        assert seen_one and seen_two
        assert {secret for _, secret in seen_one + seen_two} == {None}
        for person in people:
            delivered = [a.update_id for a in srv.delivery.attempts if a.chat_id == person.user_id]
            assert delivered == sorted(delivered)  # each chat's updates in the order sent
