"""A capture's buttons (✎ Fix and its branches, ★, 🗑), edits of messages, what no flow takes
(unknown command, sticker, stale and forged buttons, /cancel with nothing open), and the
access guard (allow-list, groups)."""

from __future__ import annotations

from bot import texts
from storage.models import CaptureStatus
from tests.support.fast import FastBot
from tests.support.rows import add_user, captures, db_of, user_of
from tests.support.speech import FIXTURES, REFERENCES

BUTTONS = [texts.BUTTON_LAND, texts.BUTTON_FIX, texts.BUTTON_DELETE]


async def _captured(bot: FastBot, text: str = "my therapist sed rest is alowed"):  # type: ignore[no-untyped-def]
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    sent = alice.send_text(text)
    [card] = await bot(sent)
    assert card.text.startswith(text) and card.button_texts == BUTTONS
    return alice, sent, card


async def test_a_sentence_is_a_capture_with_its_card(bot: FastBot) -> None:
    _, _, card = await _captured(bot)
    assert "Saved to your" in card.text
    [row] = await captures(bot.app, 101)
    assert (row.text, row.status) == ("my therapist sed rest is alowed", CaptureStatus.SAVED)


async def test_a_voice_memo_is_edited_into_its_transcript(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    [placeholder] = await bot(alice.send_voice(FIXTURES / "speech_02.ogg"))
    assert "transcribing…" in placeholder.text
    card = alice.current(placeholder)
    assert card.text.startswith(REFERENCES["speech_02.ogg"]) and card.button_texts == BUTTONS
    [row] = await captures(bot.app, 101)
    assert (row.status, row.text) == (CaptureStatus.TRANSCRIBED, REFERENCES["speech_02.ogg"])


async def test_an_undecodable_memo_is_kept_and_says_so(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    [placeholder] = await bot(alice.send_voice(FIXTURES / "random.ogg"))
    assert alice.current(placeholder).text.startswith("I couldn't read that as audio")
    [row] = await captures(bot.app, 101)
    assert row.status == CaptureStatus.FAILED


async def test_fix_replaces_the_text_and_the_card(bot: FastBot) -> None:
    alice, _, card = await _captured(bot)
    assert await bot.texts(alice.press(texts.BUTTON_FIX, card)) == [texts.ASK_FIX]
    [fixed] = await bot.texts(alice.send_text("my therapist said rest is allowed"))
    assert fixed.startswith(texts.FIXED) and "my therapist said rest is allowed" in fixed
    [row] = await captures(bot.app, 101)
    assert row.text == "my therapist said rest is allowed"
    assert alice.current(card).buttons != card.buttons  # the old card's ✎ is spent


async def test_fix_then_cancel_keeps_the_text(bot: FastBot) -> None:
    alice, _, card = await _captured(bot)
    await bot(alice.press(texts.BUTTON_FIX, card))
    assert await bot.texts(alice.command("cancel")) == [texts.FIX_CANCELLED]
    [row] = await captures(bot.app, 101)
    assert row.text == "my therapist sed rest is alowed"


async def test_fix_wants_typed_text(bot: FastBot) -> None:
    alice, _, card = await _captured(bot)
    await bot(alice.press(texts.BUTTON_FIX, card))
    assert await bot.texts(alice.send_sticker()) == [texts.FIX_NEEDS_TEXT]
    assert len(await captures(bot.app, 101)) == 1
    [fixed] = await bot.texts(alice.send_text("fixed words"))
    assert fixed.startswith(texts.FIXED)


async def test_a_memo_while_fixing_is_kept_as_its_own_capture(bot: FastBot) -> None:
    alice, _, card = await _captured(bot)
    await bot(alice.press(texts.BUTTON_FIX, card))
    replies = await bot.texts(alice.send_voice(FIXTURES / "speech_04.ogg"))
    assert replies[-2:] == [texts.KEPT_INSTEAD, texts.ASK_FIX]
    first, memo = await captures(bot.app, 101)
    assert (first.text, memo.text) == (
        "my therapist sed rest is alowed",
        REFERENCES["speech_04.ogg"],
    )


async def test_land_marks_the_capture(bot: FastBot) -> None:
    alice, _, card = await _captured(bot)
    await bot(alice.press(texts.BUTTON_LAND, card))
    [row] = await captures(bot.app, 101)
    assert row.landed
    assert texts.BUTTON_LANDED in alice.current(card).button_texts


async def test_delete_asks_then_deletes(bot: FastBot) -> None:
    alice, _, card = await _captured(bot)
    await bot(alice.press(texts.BUTTON_DELETE, card))
    assert texts.BUTTON_CONFIRM_DELETE in alice.current(card).button_texts
    await bot(alice.press(texts.BUTTON_CONFIRM_DELETE, card))
    assert await captures(bot.app, 101) == []


async def test_editing_a_typed_capture_changes_it_and_its_card(bot: FastBot) -> None:
    alice, sent, card = await _captured(bot)
    assert await bot(alice.edit_message(sent, "my therapist said rest is allowed")) == []
    [row] = await captures(bot.app, 101)
    assert row.text == "my therapist said rest is allowed"
    assert alice.current(card).text.startswith("my therapist said rest is allowed")


async def test_editing_any_other_message_gets_one_line(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    help_ = alice.command("help")
    await bot(help_)
    assert await bot.texts(alice.edit_message(help_, "/help me")) == [texts.EDIT_NOT_APPLIED]


async def test_an_unknown_command(bot: FastBot) -> None:
    alice = bot.person()
    assert await bot.texts(alice.command("frobnicate")) == [texts.UNKNOWN_COMMAND]
    assert await captures(bot.app, 101) == []


async def test_a_sticker_is_not_kept(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    assert await bot.texts(alice.send_sticker()) == [texts.UNSUPPORTED_MESSAGE]
    assert await captures(bot.app, 101) == []


async def test_cancel_with_nothing_open(bot: FastBot) -> None:
    alice = bot.person()
    assert await bot.texts(alice.command("cancel")) == [texts.NOTHING_TO_CANCEL]


async def test_a_stale_button_is_answered_as_gone(bot: FastBot) -> None:
    alice, _, card = await _captured(bot)
    await bot(alice.press(texts.BUTTON_DELETE, card))
    await bot(alice.press(texts.BUTTON_CONFIRM_DELETE, card))
    [row_id] = [data.split(":")[-1] for text, data in card.buttons[0] if text == texts.BUTTON_LAND]
    assert await bot(alice.press_raw(f"cap:land:{row_id}", card.message_id)) == []
    assert alice.callback_answers[-1].get("text") == texts.GONE


async def test_a_forged_button_for_someone_elses_capture_changes_nothing(bot: FastBot) -> None:
    _, _, card = await _captured(bot)
    [row] = await captures(bot.app, 101)
    mallory = bot.person(666, "Mallory")
    await add_user(db_of(bot.app), 666)
    await bot(mallory.press_raw(f"cap:del:{row.id}", card.message_id, chat_id=666))
    await bot(mallory.press_raw(f"cap:delok:{row.id}", card.message_id, chat_id=666))
    await bot(mallory.press_raw(f"cap:land:{row.id}", card.message_id, chat_id=666))
    [still] = await captures(bot.app, 101)
    assert (still.id, still.landed) == (row.id, False)
    assert all(a.get("text") == texts.GONE for a in mallory.callback_answers)


async def test_a_button_with_unknown_data_is_answered(bot: FastBot) -> None:
    alice = bot.person()
    await bot(alice.press_raw("no-such-flow:1", 1))
    assert len(alice.callback_answers) == 1


async def test_a_stranger_is_turned_away_when_an_allow_list_is_set(start_bot) -> None:  # type: ignore[no-untyped-def]
    async with start_bot(allowed_user_ids="202") as bot:
        stranger = bot.person(101, "Stranger")
        assert await bot.texts(stranger.send_text("hello there my friend")) == [texts.NOT_ALLOWED]
        assert await bot.texts(stranger.command("start")) == [texts.NOT_ALLOWED]
        assert await user_of(bot.app, 101) is None
        assert await captures(bot.app, 101) == []
        friend = bot.person(202, "Friend")
        replies = await bot.texts(friend.command("start"))
        assert replies[0] == texts.INTRO


async def test_a_group_is_told_on_commands_and_nothing_is_stored(bot: FastBot) -> None:
    alice = bot.person()
    await bot.feed(alice.send_group_text("my therapist said rest is allowed"))
    group = bot.api.chat(-4001)
    assert group.sent == []  # a plain message in a group: silence, and nothing kept
    await bot.feed(alice.send_group_text("/start"))
    assert [m.text for m in group.sent] == [texts.PRIVATE_ONLY]
    assert await captures(bot.app, 101) == []
    assert await user_of(bot.app, 101) is None
