"""The bad-input matrix: each case gets a clear, kind reply and leaves the bot running.

Every case runs against the real bot over real HTTP, then checks that the bot still answers
/help, that polling is still on, that no handler crashed into the generic error reply, and
that nothing was logged at ERROR.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.context import BetweenApp
from storage.models import Capture, CaptureStatus, User
from tests.support.person import Person
from tests.support.telegram_server import TelegramTestServer

FIXTURES = Path(__file__).parent / "fixtures"
UNDECODABLE = "couldn't read that as audio"
UNSUPPORTED = "I can keep voice memos, audio and text"
STALE = "That's no longer available."
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass
class Bot:
    """What a case needs: the server, the app and two people."""

    server: TelegramTestServer
    app: BetweenApp
    alice: Person
    bob: Person

    def said(self, person: Person, chat_id: int | None = None) -> list[str]:
        chat = self.server.chat(person.user_id if chat_id is None else chat_id)
        return [m.text or "" for m in chat.sent] + [e.text or "" for e in chat.edits]

    async def says(self, text: str, person: Person | None = None, *, within: float = 20.0) -> None:
        """Waits until the bot has said (or edited a message into) something containing text."""
        who = person or self.alice
        ok = await self.server.wait_for(lambda: any(text in t for t in self.said(who)), within)
        assert ok, f"the bot never said {text!r}; it said {self.said(who)}"

    async def answered(self, person: Person, text: str, *, within: float = 10.0) -> None:
        """Waits until one of the person's button presses was answered with text."""
        ok = await self.server.wait_for(
            lambda: any(a.get("text") == text for a in person.callback_answers), within
        )
        assert ok, f"no callback answer {text!r}: {person.callback_answers}"

    async def captures(self, user_id: int) -> list[Capture]:
        async with self.app.bot_data.sessionmaker() as s:
            result = await s.scalars(
                select(Capture).where(Capture.user_id == user_id).order_by(Capture.id)
            )
            return list(result)


Case = Callable[[Bot], Awaitable[None]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def add(fn: Case) -> Case:
        CASES[name] = fn
        return fn

    return add


# --------------------------------------------------------------------------- audio


@case("image-bytes-sent-as-voice")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(FIXTURES / "image.ogg")
    await bot.says(UNDECODABLE)


@case("pdf-sent-as-voice")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(PDF)
    await bot.says(UNDECODABLE)


@case("random-bytes-ogg")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(FIXTURES / "random.ogg")
    await bot.says(UNDECODABLE)


@case("empty-ogg")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(FIXTURES / "empty.ogg")
    await bot.says(UNDECODABLE)


@case("truncated-ogg")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(FIXTURES / "truncated.ogg")
    await bot.says(UNDECODABLE)


@case("silence")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(FIXTURES / "silence.ogg")
    await bot.says("couldn't hear words")


@case("three-hour-memo")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(FIXTURES / "speech_01.ogg", duration=3 * 3600)
    await bot.says("180 min long")
    assert bot.server.downloads == []  # refused from Telegram's facts, nothing fetched
    (capture,) = await bot.captures(101)
    assert capture.status == CaptureStatus.FAILED  # but kept: the person sent it


@case("25-mb-file")
async def _(bot: Bot) -> None:
    bot.alice.send_voice(FIXTURES / "speech_01.ogg", file_size=25 * 1024 * 1024)
    await bot.says("over 20 MB")


@case("pdf-sent-as-ogg-document")
async def _(bot: Bot) -> None:
    bot.alice.send_document(PDF, file_name="memo.ogg", mime_type="application/ogg")
    await bot.says(UNDECODABLE)


@case("pdf-document")
async def _(bot: Bot) -> None:
    bot.alice.send_document(PDF, file_name="notes.pdf", mime_type="application/pdf")
    await bot.says(UNSUPPORTED)


@case("message-while-another-is-transcribing")
async def _(bot: Bot) -> None:
    bot.server.delay_next("download", 2.0)
    bot.alice.send_voice(FIXTURES / "speech_01.ogg")
    await bot.says("transcribing")
    bot.alice.send_text("typed meanwhile")
    await bot.says("typed meanwhile", within=3)  # answered while the memo waits
    assert not any("earn rest" in t.lower() for t in bot.said(bot.alice))
    await bot.says("earn rest", within=30)
    assert [c.status for c in await bot.captures(101)] == [
        CaptureStatus.TRANSCRIBED,
        CaptureStatus.SAVED,
    ]


# --------------------------------------------------------------------------- text


@case("10000-characters")
async def _(bot: Bot) -> None:
    bot.alice.send_text("I keep going. " * 714 + "done")
    await bot.says("all 10000 characters are saved")
    (capture,) = await bot.captures(101)
    assert len(capture.text or "") == 10_000


@case("only-emoji")
async def _(bot: Bot) -> None:
    bot.alice.send_text("🙂🙏🌧️❤️‍🩹")
    await bot.says("🙂🙏🌧️❤️‍🩹")


@case("rtl-text")
async def _(bot: Bot) -> None:
    bot.alice.send_text("אני לא חייבת להרוויח מנוחה")
    await bot.says("אני לא חייבת להרוויח מנוחה")
    bot.alice.send_text("لا أحتاج أن أكسب الراحة")
    await bot.says("لا أحتاج أن أكسب الراحة")


@case("markup-characters")
async def _(bot: Bot) -> None:
    text = "<b>not bold</b> *nor* _this_ [x](http://y) `z` & &amp;"
    bot.alice.send_text(text)
    await bot.says(text)


@case("forwarded-text")
async def _(bot: Bot) -> None:
    bot.alice.forward_text("what my therapist wrote to me")
    await bot.says("what my therapist wrote to me")


@case("edited-message")
async def _(bot: Bot) -> None:
    sent = bot.alice.send_text("first wording")
    await bot.says("first wording")
    bot.alice.edit_message(sent, "second wording")
    await bot.says("second wording")
    (capture,) = await bot.captures(101)
    assert capture.text == "second wording"


# --------------------------------------------------------------------------- commands


@case("unknown-command")
async def _(bot: Bot) -> None:
    bot.alice.send_text("/frobnicate now")
    await bot.says("I don't know that command")


@case("commands-with-junk-arguments")
async def _(bot: Bot) -> None:
    bot.alice.send_text("/help ;DROP TABLE users;-- \u202e")
    await bot.says("Commands:")
    bot.alice.send_text("/settings ' OR 1=1 --")
    await bot.says("Your settings")
    bot.alice.send_text("/cancel please now")
    await bot.says("Settings closed")
    bot.alice.send_text("/start deep-link-payload_xyz")
    await bot.says("Hi, I'm Between")


@case("recall-with-junk-and-a-very-long-query")
async def _(bot: Bot) -> None:
    bot.alice.send_text("/recall %%% $$$ 🙃 " + "x" * 4000)
    before = len(bot.said(bot.alice))
    assert await bot.server.wait_for(lambda: len(bot.said(bot.alice)) > before, 10)
    assert not any("Something went wrong" in t for t in bot.said(bot.alice))


@case("cancel-with-nothing-to-cancel")
async def _(bot: Bot) -> None:
    bot.alice.command("cancel")
    await bot.says("Nothing to cancel.")


# --------------------------------------------------------------------------- buttons


@case("tampered-callback-data")
async def _(bot: Bot) -> None:
    bot.alice.send_text("a capture to press")
    await bot.says("a capture to press")
    target = bot.alice.latest
    assert target is not None
    for data in ("cap:land:99999999", "cap:del:1x", "\x00garbage", "refl:999:999", "priv:yes"):
        bot.alice.press_raw(data, target.message_id)
    ok = await bot.server.wait_for(lambda: len(bot.alice.callback_answers) == 5, 10)
    assert ok, bot.alice.callback_answers
    assert all(a.get("text") for a in bot.alice.callback_answers)  # every press answered
    (capture,) = await bot.captures(101)
    assert not capture.landed


@case("stale-callback-of-a-deleted-capture")
async def _(bot: Bot) -> None:
    bot.alice.send_text("soon deleted")
    await bot.says("soon deleted")
    card = bot.alice.latest
    assert card is not None
    bot.alice.press("🗑 Delete", card)
    assert await bot.server.wait_for(
        lambda: "Yes, delete it" in bot.alice.current(card).button_texts, 10
    )
    bot.alice.press("Yes, delete it", card)
    await bot.says("Deleted.")
    bot.alice.press_raw(f"cap:land:{card.buttons[0][0][1].rsplit(':', 1)[1]}", card.message_id)
    await bot.answered(bot.alice, STALE)
    assert await bot.captures(101) == []


@case("someone-elses-capture")
async def _(bot: Bot) -> None:
    bot.bob.send_text("bob's own words")
    await bot.says("bob's own words", bot.bob)
    (theirs,) = await bot.captures(202)
    for action in ("land", "fix", "del", "delok"):
        bot.alice.press_raw(f"cap:{action}:{theirs.id}", 1)
    ok = await bot.server.wait_for(lambda: len(bot.alice.callback_answers) == 4, 10)
    assert ok and all(a.get("text") == STALE for a in bot.alice.callback_answers)
    (still,) = await bot.captures(202)
    assert (still.text, still.landed) == ("bob's own words", False)


# --------------------------------------------------------------------------- other kinds


@case("sticker")
async def _(bot: Bot) -> None:
    bot.alice.send_sticker("🫠")
    await bot.says(UNSUPPORTED)


@case("photo-with-caption")
async def _(bot: Bot) -> None:
    bot.alice.send_photo(b"\xff\xd8\xff fake jpeg", caption="my notes")
    await bot.says(UNSUPPORTED)


@case("location")
async def _(bot: Bot) -> None:
    bot.alice._message({"location": {"latitude": 52.52, "longitude": 13.40}})
    await bot.says(UNSUPPORTED)


@case("group-messages")
async def _(bot: Bot) -> None:
    group = bot.server.group(-4001, "Family")
    bot.server.add_update(
        "my_chat_member",
        {
            "chat": group.info,
            "from": bot.alice.user,
            "date": bot.server.date(),
            "old_chat_member": {"status": "left", "user": bot.server.bot_user},
            "new_chat_member": {"status": "member", "user": bot.server.bot_user},
        },
    )
    bot.alice.send_group_text("/help", chat_id=-4001)
    bot.alice.send_group_text("a private thought in the wrong chat", chat_id=-4001)
    ok = await bot.server.wait_for(lambda: len(group.sent) == 2, 10)
    assert ok, [m.text for m in group.sent]
    await bot.server.wait_delivered()
    assert not await bot.server.wait_for(lambda: len(group.sent) > 2, 0.5)
    # said once when added, once for the command; the plain text gets no reply
    assert [m.text for m in group.sent] == [group.sent[0].text] * 2
    assert "only work in a private chat" in (group.sent[0].text or "")
    await bot.server.wait_delivered()
    async with bot.app.bot_data.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0
    assert await bot.captures(101) == []


@pytest.mark.parametrize("act", CASES.values(), ids=CASES.keys())
async def test_bad_input_gets_a_clear_reply_and_the_bot_keeps_running(
    server: TelegramTestServer, start_bot, caplog: pytest.LogCaptureFixture, act: Case
) -> None:
    caplog.set_level(logging.INFO)
    async with start_bot() as app:
        bot = Bot(server, app, server.person(101, "Alice"), server.person(202, "Bob"))
        await act(bot)
        seen = len(bot.alice.messages)
        bot.alice.command("help")
        assert await server.wait_for(
            lambda: any("Commands:" in (m.text or "") for m in bot.alice.messages[seen:]), 20
        ), "the bot stopped answering /help"
        assert app.running and app.updater is not None and app.updater.running
        said = bot.said(bot.alice) + bot.said(bot.bob)
        assert not any("Something went wrong on my side" in t for t in said)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]


def test_the_matrix_has_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20
