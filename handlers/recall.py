"""/recall: the paragraph back in one message; browse sessions; say how it went.

`/recall` (or one tap on the 🔁 Recall button under the message field, `recall_key`) shows
the latest saved paragraph, `/recall WORDS` the best match among the person's own
paragraphs, answers, captures and situation cues (storage/search.py). Each shown card is
a Recall row whose "How did it go?" follow-up comes `followup_hours` later.
An answer is a tap on the follow-up's buttons, or a reply (text or voice) to the follow-up,
the card or the ping; replies to other messages are left to the other flows (captures).
A spoken answer is heard by bot/voice.py in a background task, so nobody waits for it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot import texts, voice
from bot.clock import zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import followup
from bot.telegram_io import edit_shown, in_background
from bot.views import (
    cut,
    day_label,
    headline_of,
    helped_row,
    recall_card,
    recall_keyboard,
)
from handlers.capture import keep_message
from handlers.common import NEW, answer_query, command, ensure_user, reply
from storage.captures import CaptureRepository
from storage.models import Recall, RecallSource, Reflection
from storage.recalls import RecallRepository
from storage.reflections import ReflectionRepository
from storage.search import search
from storage.sessions import utcnow
from storage.triggers import TriggerRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

MAX_QUERY = 200
MAX_OUTCOME = 2000
# before the flows in group 0, so a follow-up answer or a 🔁 Recall tap is not a capture
REPLY_GROUP = -1


async def _card(
    paragraphs: ReflectionRepository,
    triggers: TriggerRepository,
    recall: Recall,
    reflection: Reflection,
    user_id: int,
    tz: tzinfo,
    *,
    query: str | None = None,
    matches: int = 0,
) -> tuple[str, InlineKeyboardMarkup]:
    """The card text and its buttons for one recall showing `reflection`."""
    rows = await triggers.for_reflection(user_id, reflection.id)
    older, newer = await paragraphs.neighbours(user_id, reflection)
    text = recall_card(reflection, rows, tz, datetime.now(UTC), query=query, matches=matches)
    return text, recall_keyboard(recall.id, older, newer, recall.helped)


async def recall_command(update: Update, context: BotContext) -> None:
    """Shows the latest paragraph, or the best match for the words after /recall."""
    query = " ".join(context.args or []).strip()[:MAX_QUERY]
    async with context.db() as session, session.begin():  # the person and the recall: one commit
        user = await ensure_user(update, context, session)
        tz = zone_of(user)
        recalls = RecallRepository(session)
        paragraphs = ReflectionRepository(session)
        matches = 0
        if query:
            hits = await search(session, user.id, query, limit=20)
            if not hits:
                await reply(update, texts.RECALL_NO_MATCH.format(query=cut(query, 60)))
                return
            best, matches = hits[0], len(hits)
            if best.reflection_id is None:
                capture = await CaptureRepository(session).get(user.id, best.capture_id or -1)
                if capture is not None and capture.text:
                    await reply(
                        update,
                        texts.RECALL_CAPTURE_HIT.format(
                            written=day_label(capture.created_at, tz), text=cut(capture.text, 3000)
                        ),
                    )
                return
            reflection = await paragraphs.saved(user.id, best.reflection_id)
            source = RecallSource.SEARCH
        else:
            reflection = await paragraphs.latest_saved(user.id)
            source = RecallSource.COMMAND
        if reflection is None:
            await reply(update, texts.RECALL_NOTHING)
            return
        recall = await recalls.add(user.id, reflection.id, source)
        text, keyboard = await _card(
            paragraphs,
            TriggerRepository(session),
            recall,
            reflection,
            user.id,
            tz,
            query=query,
            matches=matches,
        )
    message = await reply(update, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    logger.info("recall %s (%s) shown to %s", recall.id, source.value, user.id)
    if message is not None:
        await followup.after_recall_sent(
            context.application, user.id, recall.id, message.message_id, user.followup_hours
        )


async def recall_key(update: Update, context: BotContext) -> None:
    """The 🔁 Recall button under the message field: exactly /recall, in one tap.

    Runs in group -1, before every conversation and capture, so the tap is never kept as a
    capture or taken as a state's answer; like /recall it leaves an open conversation where
    it was.
    """
    await recall_command(update, context)
    raise ApplicationHandlerStop


def _ints(data: str, prefix: str) -> list[int] | None:
    """The numbers after `prefix` in callback data, or None if it was tampered with."""
    try:
        return [int(part) for part in data.removeprefix(prefix).split(":")]
    except ValueError:
        return None


async def recall_button(update: Update, context: BotContext) -> None:
    """Browses to another session, or notes that it was read or whether it helped."""
    query = update.callback_query
    if query is None:
        return
    action, _, rest = (query.data or "").removeprefix("rc:").partition(":")
    numbers = _ints(rest, "")
    user = await ensure_user(update, context)
    tz = zone_of(user)
    if not numbers or action not in {"nav", "helped", "read"}:
        await answer_query(query, texts.TRG_GONE)
        return
    message = query.message if isinstance(query.message, Message) else None
    async with context.db() as session, session.begin():
        recalls = RecallRepository(session)
        paragraphs = ReflectionRepository(session)
        recall = await recalls.get(user.id, numbers[0])
        if recall is None or (action != "read" and len(numbers) != 2):
            await answer_query(query, texts.TRG_GONE)
            return
        text: str | None = None
        if action == "nav":
            reflection = await paragraphs.saved(user.id, numbers[1])
            if reflection is None:
                await answer_query(query, texts.TRG_GONE)
                return
            recall.reflection_id = reflection.id
            text, keyboard = await _card(
                paragraphs, TriggerRepository(session), recall, reflection, user.id, tz
            )
        else:
            if action == "read":
                recall.read_at = recall.read_at or utcnow()
            else:
                recall.helped = bool(numbers[1])
            keyboard = await _keyboard(paragraphs, recall, user.id)
    await answer_query(query, None if action == "nav" else texts.RECALL_NOTED)
    await edit_shown(message, text, reply_markup=keyboard, parse_mode=ParseMode.HTML)


async def _keyboard(
    paragraphs: ReflectionRepository, recall: Recall, user_id: int
) -> InlineKeyboardMarkup:
    """The buttons a card or ping shows now (a read ping offers the helped buttons)."""
    if recall.source == RecallSource.PING or recall.reflection_id is None:
        return InlineKeyboardMarkup([helped_row(recall.id, recall.helped)])
    reflection = await paragraphs.saved(user_id, recall.reflection_id)
    if reflection is None:
        return InlineKeyboardMarkup([helped_row(recall.id, recall.helped)])
    older, newer = await paragraphs.neighbours(user_id, reflection)
    return recall_keyboard(recall.id, older, newer, recall.helped)


FOLLOWUP_CHOICES = {
    "y": (True, texts.RECALL_BUTTON_HELPED),
    "n": (False, texts.RECALL_BUTTON_NOT_HELPED),
    "s": (None, texts.RECALL_BUTTON_NOT_TRIED),
}


async def followup_button(update: Update, context: BotContext) -> None:
    """Stores the tapped answer to "How did it go?" and invites a few words."""
    query = update.callback_query
    if query is None:
        return
    recall_id, _, choice = (query.data or "").removeprefix("fu:").partition(":")
    user = await ensure_user(update, context)
    picked = FOLLOWUP_CHOICES.get(choice)
    if picked is None or not recall_id.isdigit():
        await answer_query(query, texts.TRG_GONE)
        return
    async with context.db() as session, session.begin():
        recalls = RecallRepository(session)
        paragraphs = ReflectionRepository(session)
        recall = await recalls.get(user.id, int(recall_id))
        if recall is None:
            await answer_query(query, texts.TRG_GONE)
            return
        recall.helped = picked[0]
        recall.answered_at = utcnow()
        reflection = (
            await paragraphs.saved(user.id, recall.reflection_id) if recall.reflection_id else None
        )
        headline = cut(headline_of(reflection), 80) if reflection else texts.RECALL_NO_HEADLINE
    await answer_query(query, texts.RECALL_NOTED)
    message = query.message if isinstance(query.message, Message) else None
    text = texts.FOLLOWUP_ANSWERED.format(headline=headline, choice=picked[1])
    await edit_shown(message, text, reply_markup=None)


def _followup_recall_id(message: Message) -> int | None:
    """The recall a "How did it go?" message asks about, read from its own buttons."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else ""
            recall_id = data.removeprefix("fu:").partition(":")[0]
            if data.startswith("fu:") and recall_id.isdigit():
                return int(recall_id)
    return None


async def outcome_reply(update: Update, context: BotContext) -> None:
    """Stores a reply to a follow-up, card or ping (text or voice) as how it went."""
    message = update.effective_message
    tg_user = update.effective_user
    if message is None or tg_user is None or message.reply_to_message is None:
        return
    target = message.reply_to_message
    if target.from_user is None or target.from_user.id != context.bot.id:
        return
    async with context.db() as session:
        recalls = RecallRepository(session)
        recall = await recalls.by_message(tg_user.id, target.message_id)
        asked = _followup_recall_id(target)
        if recall is None and asked is not None:  # answered before its message id was stored
            recall = await recalls.get(tg_user.id, asked)
        user = await UserRepository(session).get(tg_user.id)
    if recall is None or user is None:
        return  # not an answer: capture and the other flows take it
    if message.text is not None:
        await _store_outcome(update, context, user.id, recall.id, message.text.strip())
        raise ApplicationHandlerStop
    # a voice reply is heard in the background: nobody waits for this person's memo
    work = _hear_outcome(update, context, user.id, user.language, recall.id)
    await in_background(context.application, work, update=update, name=f"outcome:{recall.id}")
    raise ApplicationHandlerStop


async def _hear_outcome(
    update: Update, context: BotContext, user_id: int, language: str | None, recall_id: int
) -> None:
    """Hears a spoken answer to "How did it go?" and stores its words with the recall."""
    message = update.effective_message
    memo = voice.memo_of(message) if message is not None else None
    if message is None or memo is None:
        return
    heard = await voice.hear(
        context.application, memo, chat_id=message.chat_id, language=language, user_id=user_id
    )
    if isinstance(heard, voice.Heard):
        await _store_outcome(update, context, user_id, recall_id, heard.text)
        return
    logger.info("follow-up voice answer not heard: %s", heard.failure)
    if heard.failure != voice.Failure.NO_SPEECH:
        await keep_message(update, context)  # a memo that could not be heard: /retry tries again
    await reply(update, texts.FOLLOWUP_NO_WORDS)


async def _store_outcome(
    update: Update, context: BotContext, user_id: int, recall_id: int, words: str
) -> None:
    """Adds the words to how the recall went (or asks for a few, when there are none)."""
    if not words:
        await reply(update, texts.FOLLOWUP_NO_WORDS)
        return
    async with context.db() as session, session.begin():
        row = await RecallRepository(session).get(user_id, recall_id)
        if row is not None:
            words = cut(words, MAX_OUTCOME)
            row.outcome = f"{row.outcome}\n{words}" if row.outcome else words
            row.answered_at = utcnow()
    logger.info("outcome of recall %s stored (%d characters)", recall_id, len(words))
    await reply(update, texts.FOLLOWUP_KEPT)


def register(application: BetweenApp) -> None:
    application.add_handler(command("recall", recall_command))
    application.add_handler(CallbackQueryHandler(recall_button, pattern=r"^rc:"))
    application.add_handler(CallbackQueryHandler(followup_button, pattern=r"^fu:"))
    application.add_handler(
        MessageHandler(NEW & filters.Text([texts.RECALL_KEY]), recall_key), group=REPLY_GROUP
    )
    application.add_handler(
        MessageHandler(
            NEW & filters.REPLY & (filters.TEXT | filters.VOICE) & ~filters.COMMAND, outcome_reply
        ),
        group=REPLY_GROUP,
    )
