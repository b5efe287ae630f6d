"""/reflect, the paragraph: redo one answer, edit the whole, save it (and pin it).

The callbacks of the REVIEW and EDITING states; handlers/reflection.py builds the
conversation from them. The draft they work on comes from handlers/reflection_draft.py.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot import texts
from bot.context import BotContext
from bot.telegram_io import drop_buttons
from handlers.capture import keep_message
from handlers.common import answer_query, reply
from handlers.reflection_draft import (
    DRAFT_KEY,
    EDITING,
    MAX_PARAGRAPH,
    REDO_KEY,
    REVIEW,
    ask,
    gone,
    load_draft,
    paragraph_of,
    review,
    review_keyboard,
    step_of,
    trigger_keyboard,
    user_id_of,
)
from handlers.schedule import ask_next_if_none
from storage.models import Reflection, ReflectionStatus
from storage.reflections import REVIEW_STEP, ReflectionRepository
from storage.sessions import SessionRepository, utcnow
from storage.users import UserRepository

logger = logging.getLogger(__name__)


async def on_redo(update: Update, context: BotContext) -> int:
    """Asks one question again; its answer leads straight back to the paragraph."""
    step = step_of(update) or 1

    def change(draft: Reflection) -> None:
        draft.step = step

    await answer_query(update.callback_query)
    draft = await load_draft(update, context, change)
    if draft is None:
        return await gone(update, context)
    await drop_buttons(update)
    context.person[REDO_KEY] = True
    return await ask(update, context, draft)


async def on_edit(update: Update, context: BotContext) -> int:
    """Asks for the whole paragraph as it should read."""
    await answer_query(update.callback_query)
    await reply(update, texts.REFLECT_ASK_EDIT)
    return EDITING


async def on_edited(update: Update, context: BotContext) -> int:
    """Takes the person's own version of the whole paragraph and shows it again."""
    message = update.effective_message
    if message is None or not message.text:
        return EDITING
    text = " ".join(message.text.split())
    if len(text) > MAX_PARAGRAPH:
        await keep_message(update, context)
        await reply(update, texts.REFLECT_KEPT_LONG.format(length=len(text), limit=MAX_PARAGRAPH))
        await reply(update, texts.REFLECT_ASK_EDIT)
        return EDITING

    def change(draft: Reflection) -> None:
        draft.paragraph = text
        draft.step = REVIEW_STEP

    draft = await load_draft(update, context, change)
    if draft is None:
        return await gone(update, context)
    return await review(update, context, draft)


async def type_please(update: Update, context: BotContext) -> None:
    """Asks for the edited paragraph as text."""
    await reply(update, texts.REFLECT_TYPE_EDIT)


async def review_again(update: Update, context: BotContext) -> None:
    """Points at the buttons under the paragraph again."""
    await reply(update, texts.REFLECT_REVIEW_HINT)


async def back_to_review(update: Update, context: BotContext) -> int:
    """Leaves editing and shows the paragraph again."""
    draft = await load_draft(update, context)
    if draft is None:
        return await gone(update, context)
    return await review(update, context, draft)


async def on_save(update: Update, context: BotContext) -> int:
    """Saves the paragraph for the session, pins it and offers a midweek moment."""
    await answer_query(update.callback_query)
    user_id = user_id_of(update)
    paragraph = ""
    saved: tuple[int, int, date] | None = None
    async with context.db() as session, session.begin():
        repo = ReflectionRepository(session)
        draft_id = context.person.get(DRAFT_KEY)
        draft = await repo.get(user_id, draft_id) if isinstance(draft_id, int) else None
        if draft is None or draft.status != ReflectionStatus.DRAFT:
            draft = await repo.latest_draft(user_id)
        if draft is not None:
            paragraph = paragraph_of(draft)
        if draft is not None and paragraph:
            await repo.save(user_id, draft, paragraph, utcnow())
            therapy = await SessionRepository(session).get(user_id, draft.session_id)
            # sessions are deleted only with their reflections
            day = therapy.local_date if therapy is not None else draft.created_at.date()
            saved = (draft.id, draft.version, day)
    if draft is None:
        return await gone(update, context)
    if saved is None:
        await reply(update, texts.REFLECT_NOTHING, reply_markup=review_keyboard(can_save=False))
        return REVIEW
    reflection_id, version, therapy_day = saved
    await drop_buttons(update)
    context.person.pop(DRAFT_KEY, None)
    context.person.pop(REDO_KEY, None)
    logger.info("reflection %s saved for user %s (version %s)", reflection_id, user_id, version)
    card = await reply(
        update, texts.REFLECT_CARD.format(day=f"{therapy_day:%a %d %b}", paragraph=paragraph)
    )
    if card is not None:
        await _pin(context, user_id, card)
    await reply(update, texts.REFLECT_TRIGGER_OFFER, reply_markup=trigger_keyboard(reflection_id))
    await ask_next_if_none(update, context)  # irregular schedules: "When is your next session?"
    return ConversationHandler.END


async def _pin(context: BotContext, user_id: int, card: Message) -> None:
    """Pins the paragraph (unpinning the previous one) if the person wants it; never fails."""
    async with context.db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        if user is None or not user.pin_paragraph:
            return
        previous = user.pinned_message_id
        user.pinned_message_id = card.message_id
    if previous is not None and previous != card.message_id:
        try:
            await context.bot.unpin_chat_message(card.chat_id, message_id=previous)
        except TelegramError as exc:
            logger.info("unpin failed for user %s: %s", user_id, type(exc).__name__)
    try:
        await context.bot.pin_chat_message(card.chat_id, card.message_id, disable_notification=True)
    except TelegramError as exc:
        logger.info("pin failed for user %s: %s", user_id, type(exc).__name__)
