"""The open /reflect draft: loading it, asking its question, showing its paragraph.

Shared by handlers/reflection.py (the entry and the answering) and
handlers/reflection_paragraph.py (the paragraph: redo, edit, save): the conversation states,
the user_data keys, the keyboards and the helpers both need. Imports neither of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot import texts
from bot.context import BotContext
from bot.errors import NoPersonError
from bot.paragraph import assemble
from handlers.common import reply
from storage.models import Reflection, ReflectionStatus
from storage.reflections import (
    QUESTIONS,
    REVIEW_STEP,
    ReflectionRepository,
    answers,
    get_answer,
    set_answer,
)

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


def user_id_of(update: Update) -> int:
    if update.effective_user is None:  # the access guard stops these before any flow
        raise NoPersonError(update.update_id)
    return update.effective_user.id


async def load_draft(
    update: Update, context: BotContext, change: Callable[[Reflection], None] | None = None
) -> Reflection | None:
    """Loads the open draft (applying `change(draft)` in the same transaction), or None."""
    user_id = user_id_of(update)
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


async def gone(update: Update, context: BotContext) -> int:
    context.person.pop(DRAFT_KEY, None)
    context.person.pop(REDO_KEY, None)
    await reply(update, texts.REFLECT_GONE)
    return ConversationHandler.END


def next_step(context: BotContext, step: int) -> int:
    """Where an answer to `step` leads: the next question, or the paragraph after a redo."""
    if context.person.pop(REDO_KEY, False):
        return REVIEW_STEP
    return min(step + 1, REVIEW_STEP)


async def ask(update: Update, context: BotContext, draft: Reflection) -> int:
    """Asks the draft's current question (showing a kept answer), or shows the paragraph."""
    if draft.step >= REVIEW_STEP:
        return await review(update, context, draft)
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


def paragraph_of(draft: Reflection) -> str:
    return draft.paragraph or assemble(answers(draft))


async def review(update: Update, context: BotContext, draft: Reflection) -> int:
    """Shows the assembled paragraph with save / redo one answer / edit the whole."""
    paragraph = paragraph_of(draft)
    if not paragraph:
        await reply(update, texts.REFLECT_NOTHING, reply_markup=review_keyboard(can_save=False))
    else:
        await reply(
            update, texts.REFLECT_REVIEW.format(paragraph=paragraph), reply_markup=review_keyboard()
        )
    return REVIEW


async def store_answer(
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

    draft = await load_draft(update, context, change)
    if draft is not None and advance:
        context.person.pop(REDO_KEY, None)
    return draft, answered


def step_of(update: Update) -> int | None:
    """The question number at the end of this button's callback data."""
    query = update.callback_query
    data = query.data if query is not None else None
    tail = (data or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
