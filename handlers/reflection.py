"""/reflect: three questions, answered in the person's own words, made into one paragraph.

The cue comes first (the session's landed sentence, else its captures and marks), then the
questions one at a time; each answer by text or voice (transcribed and shown back). The bot
only joins the answers (bot/paragraph.py's `assemble`); it never writes or rephrases them.
A spoken answer is heard by bot/voice.py in a `block=False` handler: other people are
answered meanwhile, and what this person sends while it is heard is kept as a capture.

State lives in two places, so a restart resumes at the same question: the answers and the
question number in the draft row (written as each answer comes), the conversation state in
PTB persistence (`storage/persistence.py`). `/cancel` keeps the draft; `/reflect` resumes it.

This module is the entry and the answering, and `register()`; the paragraph (redo, edit,
save) is handlers/reflection_paragraph.py, the open draft and its keyboards
handlers/reflection_draft.py.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import texts, voice
from bot.clock import naive, zone_of
from bot.context import BetweenApp, BotContext
from bot.schedule import last_therapy
from bot.telegram_io import drop_buttons
from bot.views import EVENING_START, cue_text
from handlers.asking import not_answers, while_listening
from handlers.capture import keep_message
from handlers.common import (
    NEW,
    NEW_TEXT,
    answer_query,
    command,
    ensure_user,
    local_now,
    reply,
)
from handlers.reflection_draft import (
    ANSWERS_KEY,
    DRAFT_KEY,
    EDITING,
    MAX_ANSWER,
    PREFIX,
    QUESTION,
    QUIET,
    REDO_KEY,
    REMEMBERED_ANSWERS,
    REVIEW,
    WAITING,
    ask,
    gone,
    heard_keyboard,
    load_draft,
    next_step,
    review,
    step_of,
    store_answer,
    user_id_of,
)
from handlers.reflection_paragraph import (
    back_to_review,
    on_edit,
    on_edited,
    on_redo,
    on_save,
    review_again,
    type_please,
)
from storage.captures import CaptureRepository
from storage.models import Reflection, ReflectionStatus
from storage.reflections import QUESTIONS, REVIEW_STEP, ReflectionRepository, set_answer

logger = logging.getLogger(__name__)


async def answer_edited(update: Update, context: BotContext) -> bool:
    """Applies an edit of a typed answer to its draft; False when the message was no answer.

    An answer whose paragraph is saved already stays as it was, and the person is told.
    """
    message = update.edited_message
    remembered = context.person.get(ANSWERS_KEY)
    if message is None or not message.text or not isinstance(remembered, dict):
        return False
    entry = remembered.get(str(message.message_id))
    if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(n, int) for n in entry)):
        return False
    draft_id, step = entry
    text = message.text.strip()[:MAX_ANSWER]
    user_id = user_id_of(update)
    async with context.db() as session, session.begin():
        draft = await ReflectionRepository(session).get(user_id, draft_id)
        if draft is not None and draft.status == ReflectionStatus.DRAFT:
            set_answer(draft, step, text)
            draft.paragraph = None  # re-assemble from the answers, as a new answer does
    if draft is None or draft.status != ReflectionStatus.DRAFT:
        await reply(update, texts.EDIT_ANSWER_SAVED)
        return True
    logger.info("answer %s of reflection %s edited by user %s", step, draft.id, user_id)
    await reply(update, texts.EDIT_ANSWER_CHANGED.format(number=step))
    if draft.step >= REVIEW_STEP:
        await review(update, context, draft)
    return True


# ---------------------------------------------------------------------- entry


async def begin(update: Update, context: BotContext) -> int:
    """Shows the cue and asks the first question, or resumes the open draft where it was."""
    await answer_query(update.callback_query)
    if update.callback_query is not None:
        await drop_buttons(update)
    user = await ensure_user(update, context)
    tz = zone_of(user)
    now = local_now(user)
    async with context.db() as session, session.begin():
        repo = ReflectionRepository(session)
        therapy = await repo.session_to_reflect(
            user.id, naive(now), now.date(), last_therapy(user, now)
        )
        draft = await repo.draft_for(user.id, therapy.id)
        resumed = draft is not None
        if draft is None:
            draft = await repo.start_draft(user.id, therapy.id)
        saved_before = await repo.saved_for(user.id, therapy.id) is not None
        captures = (
            [] if resumed else await CaptureRepository(session).for_session(user.id, therapy.id)
        )
    context.person[DRAFT_KEY] = draft.id
    context.person.pop(REDO_KEY, None)
    logger.info("reflection %s for user %s (resumed=%s)", draft.id, user.id, resumed)
    if resumed:
        if draft.step >= REVIEW_STEP:
            await reply(update, texts.REFLECT_WELCOME_BACK_REVIEW)
        else:
            await reply(update, texts.REFLECT_WELCOME_BACK.format(number=max(1, draft.step)))
    else:
        await reply(update, cue_text(captures, tz) or texts.CUE_NOTHING)
        if saved_before:
            await reply(update, texts.REFLECT_AGAIN)
        await reply(update, texts.REFLECT_INTRO)
    return await ask(update, context, draft)


# ---------------------------------------------------------------------- answering


async def on_text(update: Update, context: BotContext) -> int:
    """Stores the typed answer and asks the next question."""
    message = update.effective_message
    if message is None or not message.text:
        return QUESTION
    text = message.text.strip()
    if len(text) > MAX_ANSWER:
        await keep_message(update, context)
        await reply(update, texts.REFLECT_KEPT_LONG.format(length=len(text), limit=MAX_ANSWER))
        return await ask_again(update, context)
    draft, answered = await store_answer(update, context, text, advance=True)
    if draft is None:
        return await gone(update, context)
    _remember_answer(context, message.message_id, draft.id, answered)
    return await ask(update, context, draft)


def _remember_answer(context: BotContext, message_id: int, draft_id: int, step: int) -> None:
    """Notes which question a typed message answered, so an edit of it can change the answer."""
    remembered = context.person.get(ANSWERS_KEY)
    if not isinstance(remembered, dict):
        remembered = {}
    remembered[str(message_id)] = [draft_id, step]
    while len(remembered) > REMEMBERED_ANSWERS:
        remembered.pop(next(iter(remembered)))
    context.person[ANSWERS_KEY] = remembered


async def ask_again(update: Update, context: BotContext) -> int:
    """Repeats the question the open draft is at (or shows its paragraph)."""
    draft = await load_draft(update, context)
    if draft is None:
        return await gone(update, context)
    return await ask(update, context, draft)


async def on_voice(update: Update, context: BotContext) -> int:
    """Hears a spoken answer, stores it and shows it back for a yes or a fix."""
    message = update.effective_message
    memo = voice.memo_of(message) if message is not None else None
    if message is None or memo is None:
        return QUESTION
    user = await ensure_user(update, context)
    heard = await voice.hear(
        context.application, memo, chat_id=message.chat_id, language=user.language, user_id=user.id
    )
    if isinstance(heard, voice.NotHeard):
        limit = context.settings.max_voice_seconds
        await reply(
            update, voice.failure_text(heard.failure, texts.REFLECT_NOT_HEARD, max_seconds=limit)
        )
        return QUESTION
    text = heard.text
    if len(text) > MAX_ANSWER:
        await keep_message(update, context)
        await reply(update, texts.REFLECT_KEPT_LONG.format(length=len(text), limit=MAX_ANSWER))
        return await ask_again(update, context)
    draft, _ = await store_answer(update, context, text, advance=False)
    if draft is None:
        return await gone(update, context)
    step = min(max(1, draft.step), QUESTIONS)
    await reply(update, texts.REFLECT_HEARD.format(text=text), reply_markup=heard_keyboard(step))
    return QUESTION


async def on_keep(update: Update, context: BotContext) -> int:
    """Keeps the answer as heard (or as it was) and asks the next question."""
    pressed = step_of(update)
    holder: dict[str, bool] = {}

    def change(draft: Reflection) -> None:
        holder["current"] = draft.step == pressed
        if holder["current"]:
            draft.step = next_step(context, draft.step)

    draft = await load_draft(update, context, change)
    if draft is None:
        await answer_query(update.callback_query)
        return await gone(update, context)
    if not holder.get("current"):
        await answer_query(update.callback_query, texts.REFLECT_STALE)
        return QUESTION
    await answer_query(update.callback_query)
    await drop_buttons(update)
    return await ask(update, context, draft)


async def on_fix(update: Update, context: BotContext) -> int:
    """Asks for the corrected answer as text."""
    await answer_query(update.callback_query)
    await drop_buttons(update)
    await reply(update, texts.REFLECT_TYPE_FIX)
    return QUESTION


async def on_skip(update: Update, context: BotContext) -> int:
    """Leaves the current question out and asks the next one."""
    draft, _ = await store_answer(update, context, None, advance=True)
    if draft is None:
        return await gone(update, context)
    return await ask(update, context, draft)


async def on_back(update: Update, context: BotContext) -> int:
    """Goes back to the previous question (from the paragraph: to the last question)."""
    context.person.pop(REDO_KEY, None)
    holder: dict[str, bool] = {}

    def change(draft: Reflection) -> None:
        holder["first"] = draft.step <= 1
        if not holder["first"]:
            draft.step = min(draft.step, REVIEW_STEP) - 1

    draft = await load_draft(update, context, change)
    if draft is None:
        return await gone(update, context)
    if holder.get("first"):
        await reply(update, texts.REFLECT_FIRST)
    return await ask(update, context, draft)


async def on_cancel(update: Update, context: BotContext) -> int:
    """Pauses the reflection; the answers so far stay in the draft."""
    context.person.pop(REDO_KEY, None)
    draft = await load_draft(update, context)
    if draft is None:
        return await gone(update, context)
    if draft.step >= REVIEW_STEP:
        await reply(update, texts.REFLECT_PAUSED_REVIEW)
    else:
        await reply(update, texts.REFLECT_PAUSED.format(number=max(1, draft.step)))
    return ConversationHandler.END


async def stale_button(update: Update, context: BotContext) -> None:
    """Answers a reflection button from a conversation that has ended."""
    await answer_query(update.callback_query, texts.REFLECT_STALE)


def register(application: BetweenApp) -> None:
    audio = NEW & (filters.VOICE | filters.AUDIO)
    review_buttons: list[BaseHandler[Update, BotContext, Any]] = [
        CallbackQueryHandler(on_save, pattern=f"^{PREFIX}save$"),
        CallbackQueryHandler(on_redo, pattern=f"^{PREFIX}redo:[1-{QUESTIONS}]$"),
        CallbackQueryHandler(on_edit, pattern=f"^{PREFIX}edit$"),
    ]
    application.add_handler(
        ConversationHandler(
            entry_points=[
                command("reflect", begin),
                CallbackQueryHandler(begin, pattern=f"^{EVENING_START}$"),
            ],
            states={
                QUESTION: [
                    MessageHandler(NEW_TEXT, on_text),
                    MessageHandler(audio, on_voice, block=False),
                    CallbackQueryHandler(on_keep, pattern=f"^{PREFIX}(yes|keep):[0-9]$"),
                    CallbackQueryHandler(on_fix, pattern=f"^{PREFIX}fix:[0-9]$"),
                    command("skip", on_skip),
                    command("back", on_back),
                    *not_answers(ask_again),
                ],
                REVIEW: [
                    *review_buttons,
                    command("back", on_back),
                    *not_answers(review_again, text=True),
                ],
                EDITING: [
                    MessageHandler(NEW_TEXT, on_edited),
                    command("back", back_to_review),
                    *review_buttons,
                    *not_answers(type_please),
                ],
                WAITING: [
                    *while_listening(PREFIX),
                ],
            },
            fallbacks=[command("cancel", on_cancel)],
            name="reflection",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=QUIET,
        )
    )
    application.add_handler(CallbackQueryHandler(stale_button, pattern=f"^{PREFIX}"))
