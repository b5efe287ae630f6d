"""/reflect: three questions, answered in the person's own words, made into one paragraph.

The cue comes first (the session's landed sentence, else its captures and marks), then the
questions one at a time; each answer by text or voice (transcribed and shown back). The bot
only joins the answers (bot/paragraph.py's `assemble`); it never writes or rephrases them.
A spoken answer is heard by bot/voice.py in a `block=False` handler: other people are
answered meanwhile, and what this person sends while it is heard is kept as a capture.

State lives in two places, so a restart resumes at the same question: the answers and the
question number in the draft row (written as each answer comes), the conversation state in
PTB persistence (`storage/persistence.py`). `/cancel` keeps the draft; `/reflect` resumes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import texts, voice
from bot.clock import last_therapy, naive, zone_of
from bot.context import BetweenApp, BotContext
from bot.errors import NoPersonError
from bot.paragraph import assemble
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
from storage.captures import CaptureRepository
from storage.models import Reflection, ReflectionStatus
from storage.reflections import (
    QUESTIONS,
    REVIEW_STEP,
    ReflectionRepository,
    answers,
    get_answer,
    set_answer,
)
from storage.sessions import SessionRepository, utcnow
from storage.users import UserRepository

logger = logging.getLogger(__name__)

QUESTION, REVIEW, EDITING = range(3)
WAITING = ConversationHandler.WAITING

PREFIX = "refl:"
DRAFT_KEY: Final = "reflection_id"  # user_data: the draft being answered
REDO_KEY: Final = (
    "reflection_redo"  # user_data: after this answer, go straight back to the paragraph
)
ANSWERS_KEY: Final = "reflection_answers"  # user_data: {message id: [draft id, question]} for edits
REMEMBERED_ANSWERS = 12
MAX_ANSWER = 1300  # three answers and a heading still fit one Telegram message (4096)
MAX_PARAGRAPH = 3900
QUIET = timedelta(hours=12)  # a conversation left this long ends; /reflect resumes the draft


# ---------------------------------------------------------------------- keyboards


def _keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def heard_keyboard(step: int) -> InlineKeyboardMarkup:
    return _keyboard(
        [
            (texts.BUTTON_YES, f"{PREFIX}yes:{step}"),
            (texts.BUTTON_FIX_ANSWER, f"{PREFIX}fix:{step}"),
        ]
    )


def review_keyboard(can_save: bool = True) -> InlineKeyboardMarkup:
    redo = [
        (texts.BUTTON_REDO.format(number=n), f"{PREFIX}redo:{n}") for n in range(1, QUESTIONS + 1)
    ]
    if not can_save:
        return _keyboard(redo)
    return _keyboard(
        [(texts.BUTTON_SAVE, f"{PREFIX}save")],
        redo,
        [(texts.BUTTON_EDIT_WHOLE, f"{PREFIX}edit")],
    )


def trigger_keyboard(reflection_id: int) -> InlineKeyboardMarkup:
    """The midweek trigger offer; the triggers flow handles these buttons."""
    return _keyboard(
        [
            (texts.BUTTON_TRIGGER_TIME, f"trg:time:{reflection_id}"),
            (texts.BUTTON_TRIGGER_SITUATION, f"trg:sit:{reflection_id}"),
        ],
        [(texts.BUTTON_LATER, "trg:later")],
    )


# ---------------------------------------------------------------------- helpers


def _user_id(update: Update) -> int:
    if update.effective_user is None:  # the access guard stops these before any flow
        raise NoPersonError(update.update_id)
    return update.effective_user.id


async def _load(
    update: Update, context: BotContext, change: Callable[[Reflection], None] | None = None
) -> Reflection | None:
    """Loads the open draft (applying `change(draft)` in the same transaction), or None."""
    user_id = _user_id(update)
    async with context.db() as session, session.begin():
        repo = ReflectionRepository(session)
        draft = None
        draft_id = context.person.get(DRAFT_KEY)
        if isinstance(draft_id, int):
            draft = await repo.get(user_id, draft_id)
            if draft is not None and draft.status != ReflectionStatus.DRAFT:
                draft = None
        if draft is None:
            draft = await repo.latest_draft(user_id)
        if draft is not None and change is not None:
            change(draft)
    if draft is not None:
        context.person[DRAFT_KEY] = draft.id
    return draft


async def _gone(update: Update, context: BotContext) -> int:
    context.person.pop(DRAFT_KEY, None)
    context.person.pop(REDO_KEY, None)
    await reply(update, texts.REFLECT_GONE)
    return ConversationHandler.END


def _next_step(context: BotContext, step: int) -> int:
    """Where an answer to `step` leads: the next question, or the paragraph after a redo."""
    if context.person.pop(REDO_KEY, False):
        return REVIEW_STEP
    return min(step + 1, REVIEW_STEP)


async def _ask(update: Update, context: BotContext, draft: Reflection) -> int:
    """Asks the draft's current question (showing a kept answer), or shows the paragraph."""
    if draft.step >= REVIEW_STEP:
        return await _review(update, context, draft)
    step = max(1, draft.step)
    question = texts.REFLECT_QUESTION.format(
        number=step, question=texts.REFLECT_QUESTIONS[step - 1]
    )
    current = get_answer(draft, step)
    if current:
        await reply(
            update,
            texts.REFLECT_SO_FAR.format(question=question, answer=current),
            reply_markup=_keyboard([(texts.BUTTON_KEEP_ANSWER, f"{PREFIX}keep:{step}")]),
        )
    else:
        await reply(update, question)
    return QUESTION


def _paragraph(draft: Reflection) -> str:
    return draft.paragraph or assemble(answers(draft))


async def _review(update: Update, context: BotContext, draft: Reflection) -> int:
    """Shows the assembled paragraph with save / redo one answer / edit the whole."""
    paragraph = _paragraph(draft)
    if not paragraph:
        await reply(update, texts.REFLECT_NOTHING, reply_markup=review_keyboard(can_save=False))
    else:
        await reply(
            update, texts.REFLECT_REVIEW.format(paragraph=paragraph), reply_markup=review_keyboard()
        )
    return REVIEW


async def _store_answer(
    update: Update, context: BotContext, text: str | None, *, advance: bool
) -> tuple[Reflection | None, int]:
    """Writes the answer to the current question; moves on when `advance`.

    Returns:
        (the draft or None when it is gone, the question the answer was stored for).
    """
    redo = bool(context.person.get(REDO_KEY))
    answered = 0

    def change(draft: Reflection) -> None:
        nonlocal answered
        answered = min(max(1, draft.step), QUESTIONS)
        set_answer(draft, answered, text)
        draft.paragraph = None  # re-assemble from the answers
        if advance:
            draft.step = REVIEW_STEP if redo else answered + 1

    draft = await _load(update, context, change)
    if draft is not None and advance:
        context.person.pop(REDO_KEY, None)
    return draft, answered


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
    user_id = _user_id(update)
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
        await _review(update, context, draft)
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
    return await _ask(update, context, draft)


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
    draft, answered = await _store_answer(update, context, text, advance=True)
    if draft is None:
        return await _gone(update, context)
    _remember_answer(context, message.message_id, draft.id, answered)
    return await _ask(update, context, draft)


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
    draft = await _load(update, context)
    if draft is None:
        return await _gone(update, context)
    return await _ask(update, context, draft)


async def on_voice(update: Update, context: BotContext) -> int:
    """Hears a spoken answer, stores it and shows it back for a yes or a fix."""
    message = update.effective_message
    memo = voice.memo_of(message) if message is not None else None
    if message is None or memo is None:
        return QUESTION
    user = await ensure_user(update, context)
    heard = await voice.hear(
        context.application, memo, chat_id=message.chat_id, language=user.language
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
    draft, _ = await _store_answer(update, context, text, advance=False)
    if draft is None:
        return await _gone(update, context)
    step = min(max(1, draft.step), QUESTIONS)
    await reply(update, texts.REFLECT_HEARD.format(text=text), reply_markup=heard_keyboard(step))
    return QUESTION


def _step_of(update: Update) -> int | None:
    """The question number at the end of this button's callback data."""
    query = update.callback_query
    data = query.data if query is not None else None
    tail = (data or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


async def on_keep(update: Update, context: BotContext) -> int:
    """Keeps the answer as heard (or as it was) and asks the next question."""
    pressed = _step_of(update)
    holder: dict[str, bool] = {}

    def change(draft: Reflection) -> None:
        holder["current"] = draft.step == pressed
        if holder["current"]:
            draft.step = _next_step(context, draft.step)

    draft = await _load(update, context, change)
    if draft is None:
        await answer_query(update.callback_query)
        return await _gone(update, context)
    if not holder.get("current"):
        await answer_query(update.callback_query, texts.REFLECT_STALE)
        return QUESTION
    await answer_query(update.callback_query)
    await drop_buttons(update)
    return await _ask(update, context, draft)


async def on_fix(update: Update, context: BotContext) -> int:
    """Asks for the corrected answer as text."""
    await answer_query(update.callback_query)
    await drop_buttons(update)
    await reply(update, texts.REFLECT_TYPE_FIX)
    return QUESTION


async def on_skip(update: Update, context: BotContext) -> int:
    """Leaves the current question out and asks the next one."""
    draft, _ = await _store_answer(update, context, None, advance=True)
    if draft is None:
        return await _gone(update, context)
    return await _ask(update, context, draft)


async def on_back(update: Update, context: BotContext) -> int:
    """Goes back to the previous question (from the paragraph: to the last question)."""
    context.person.pop(REDO_KEY, None)
    holder: dict[str, bool] = {}

    def change(draft: Reflection) -> None:
        holder["first"] = draft.step <= 1
        if not holder["first"]:
            draft.step = min(draft.step, REVIEW_STEP) - 1

    draft = await _load(update, context, change)
    if draft is None:
        return await _gone(update, context)
    if holder.get("first"):
        await reply(update, texts.REFLECT_FIRST)
    return await _ask(update, context, draft)


# ---------------------------------------------------------------------- the paragraph


async def on_redo(update: Update, context: BotContext) -> int:
    """Asks one question again; its answer leads straight back to the paragraph."""
    step = _step_of(update) or 1

    def change(draft: Reflection) -> None:
        draft.step = step

    await answer_query(update.callback_query)
    draft = await _load(update, context, change)
    if draft is None:
        return await _gone(update, context)
    await drop_buttons(update)
    context.person[REDO_KEY] = True
    return await _ask(update, context, draft)


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

    draft = await _load(update, context, change)
    if draft is None:
        return await _gone(update, context)
    return await _review(update, context, draft)


async def type_please(update: Update, context: BotContext) -> None:
    """Asks for the edited paragraph as text."""
    await reply(update, texts.REFLECT_TYPE_EDIT)


async def review_again(update: Update, context: BotContext) -> None:
    """Points at the buttons under the paragraph again."""
    await reply(update, texts.REFLECT_REVIEW_HINT)


async def back_to_review(update: Update, context: BotContext) -> int:
    """Leaves editing and shows the paragraph again."""
    draft = await _load(update, context)
    if draft is None:
        return await _gone(update, context)
    return await _review(update, context, draft)


async def on_save(update: Update, context: BotContext) -> int:
    """Saves the paragraph for the session, pins it and offers a midweek moment."""
    await answer_query(update.callback_query)
    user_id = _user_id(update)
    paragraph = ""
    saved: tuple[int, int, date] | None = None
    async with context.db() as session, session.begin():
        repo = ReflectionRepository(session)
        draft_id = context.person.get(DRAFT_KEY)
        draft = await repo.get(user_id, draft_id) if isinstance(draft_id, int) else None
        if draft is None or draft.status != ReflectionStatus.DRAFT:
            draft = await repo.latest_draft(user_id)
        if draft is not None:
            paragraph = _paragraph(draft)
        if draft is not None and paragraph:
            await repo.save(user_id, draft, paragraph, utcnow())
            therapy = await SessionRepository(session).get(user_id, draft.session_id)
            # sessions are deleted only with their reflections
            day = therapy.local_date if therapy is not None else draft.created_at.date()
            saved = (draft.id, draft.version, day)
    if draft is None:
        return await _gone(update, context)
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


async def on_cancel(update: Update, context: BotContext) -> int:
    """Pauses the reflection; the answers so far stay in the draft."""
    context.person.pop(REDO_KEY, None)
    draft = await _load(update, context)
    if draft is None:
        return await _gone(update, context)
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
