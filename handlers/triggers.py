"""/trigger: pick the moment a paragraph comes back (handlers/moments.py lists and manages them).

A moment is a **time** ("thu 08:00 morning walk", "every weekday 8:30", or tapped: a day,
then an hour), parsed by bot/timespec.py and confirmed in plain words in the person's time
zone, or a **situation** ("when my partner brings up money"), stored as a cue with keywords
that `/recall money` finds.

How typed text is read is `bot.timespec.read_moment`: a situation is saved, a time is
confirmed, a bad time's "I didn't understand; try thu 08:00" comes back with the day
buttons, and anything else is offered as a situation with a yes/no confirm.

A spoken situation is heard by bot/voice.py in a `block=False` handler, so other people are
answered meanwhile; what the person sends while it is heard is kept as a capture
(handlers/asking.py's `while_listening`).

Entry points: the buttons the reflection flow shows after saving (`trg:time:{id}`,
`trg:sit:{id}`, `trg:later`; the reflection must belong to the presser), `/trigger [TEXT]`
(the latest saved paragraph) and "Change" in /triggers (`tg:edit:{id}`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot import texts, voice
from bot.clock import zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import trigger
from bot.moments import TimeTrigger, describe
from bot.telegram_io import drop_buttons
from bot.texts import DAY_NAMES
from bot.timespec import MAX_CUE, read_moment
from bot.views import cut, headline_of
from handlers.asking import keep_and_ask_again, not_answers, plainly_a_sentence, while_listening
from handlers.common import NEW, NEW_TEXT, answer_query, command, ensure_user, reply
from storage.models import Trigger, TriggerKind
from storage.reflections import ReflectionRepository
from storage.search import content_words
from storage.triggers import TriggerRepository

logger = logging.getLogger(__name__)

TIME, SITUATION, CONFIRM = range(3)

REFLECTION_KEY: Final = "trg_reflection"  # user_data: the paragraph the moment is for
EDIT_KEY: Final = "trg_edit"  # user_data: the trigger being changed
CUE_KEY: Final = "trg_cue"  # user_data: text waiting for "keep it as a situation?"

HOURS = tuple(range(6, 23))
TIMEOUT = timedelta(minutes=30)


def _reset(context: BotContext) -> None:
    context.person.pop(REFLECTION_KEY, None)
    context.person.pop(EDIT_KEY, None)
    context.person.pop(CUE_KEY, None)


def day_keyboard(*, situation_button: bool = True) -> InlineKeyboardMarkup:
    """Tomorrow, then the seven weekdays, then "a situation instead"."""
    days = [InlineKeyboardButton(DAY_NAMES[d][:3], callback_data=f"trg:day:{d}") for d in range(7)]
    rows = [
        [InlineKeyboardButton(texts.TRG_BUTTON_TOMORROW, callback_data="trg:day:t")],
        days[:4],
        days[4:],
    ]
    if situation_button:
        rows.append(
            [InlineKeyboardButton(texts.TRG_BUTTON_SITUATION_INSTEAD, callback_data="trg:asit")]
        )
    return InlineKeyboardMarkup(rows)


def hour_keyboard(day: str) -> InlineKeyboardMarkup:
    """An hour grid (06:00-22:00) for the chosen day."""
    buttons = [
        InlineKeyboardButton(f"{h:02d}:00", callback_data=f"trg:hour:{day}:{h}") for h in HOURS
    ]
    return InlineKeyboardMarkup([buttons[i : i + 4] for i in range(0, len(buttons), 4)])


def _day_phrase(day: str) -> str:
    return "tomorrow" if day == "t" else DAY_NAMES[int(day)]


def _last_word(cue: str) -> str:
    """The word to suggest after /recall: the cue's last content word."""
    found = content_words(cue)
    return found[-1] if found else cut(cue, 20)


# ------------------------------------------------------------------ entry points


async def _own_reflection(update: Update, context: BotContext, reflection_id: int) -> bool:
    """Remembers the paragraph if it is the presser's own saved one."""
    user = await ensure_user(update, context)
    async with context.db() as session:
        reflection = await ReflectionRepository(session).saved(user.id, reflection_id)
    _reset(context)
    if reflection is None:
        return False
    context.person[REFLECTION_KEY] = reflection.id
    return True


async def offer_choice(update: Update, context: BotContext) -> int:
    """Asks for the time (typed, or a day then an hour) or the situation that was tapped."""
    query = update.callback_query
    parts = ((query.data if query else None) or "").split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        await answer_query(query, texts.TRG_GONE)
        return ConversationHandler.END
    _, choice, reflection_id = parts
    if not await _own_reflection(update, context, int(reflection_id)):
        await answer_query(query, texts.TRG_GONE)
        return ConversationHandler.END
    await answer_query(query)
    if choice == "time":
        await ask_time(update, context)
        return TIME
    await ask_situation(update, context)
    return SITUATION


async def ask_time(update: Update, context: BotContext) -> None:
    """Asks (again) for the time, with the day buttons."""
    await reply(update, texts.TRG_ASK_TIME, reply_markup=day_keyboard())


async def ask_situation(update: Update, context: BotContext) -> None:
    """Asks (again) for the situation."""
    await reply(update, texts.TRG_ASK_SITUATION)


async def ask_confirm(update: Update, context: BotContext) -> None:
    """Asks again whether the waiting text is a situation."""
    cue = context.person.get(CUE_KEY)
    if isinstance(cue, str):
        await reply(
            update, texts.TRG_AS_SITUATION.format(cue=cue), reply_markup=_confirm_keyboard()
        )
    else:
        await ask_time(update, context)


async def later(update: Update, context: BotContext) -> int:
    """Leaves the moment for later."""
    await answer_query(update.callback_query)
    _reset(context)
    await reply(update, texts.TRG_LATER)
    return ConversationHandler.END


async def trigger_command(update: Update, context: BotContext) -> int:
    """Offers time or situation for the latest paragraph, or reads the moment given inline."""
    user = await ensure_user(update, context)
    _reset(context)
    async with context.db() as session:
        reflection = await ReflectionRepository(session).latest_saved(user.id)
    if reflection is None:
        await reply(update, texts.TRG_NEEDS_REFLECTION)
        return ConversationHandler.END
    context.person[REFLECTION_KEY] = reflection.id
    phrase = " ".join(context.args or []).strip()
    if phrase:
        return await _read_phrase(update, context, phrase)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.TRG_BUTTON_TIME, callback_data=f"trg:time:{reflection.id}"
                ),
                InlineKeyboardButton(
                    texts.TRG_BUTTON_SITUATION, callback_data=f"trg:sit:{reflection.id}"
                ),
            ]
        ]
    )
    await reply(
        update,
        texts.TRG_CHOOSE.format(headline=cut(headline_of(reflection), 80)),
        reply_markup=keyboard,
    )
    return ConversationHandler.END


async def change(update: Update, context: BotContext) -> int:
    """Asks for the new time or situation of an existing trigger."""
    query = update.callback_query
    user = await ensure_user(update, context)
    _reset(context)
    raw_id = ((query.data if query else None) or "").rsplit(":", 1)[-1]
    row = None
    if raw_id.isdigit():
        async with context.db() as session:
            row = await TriggerRepository(session).get(user.id, int(raw_id))
    if row is None:
        await answer_query(query, texts.TRG_GONE)
        return ConversationHandler.END
    await answer_query(query)
    context.person[EDIT_KEY] = row.id
    context.person[REFLECTION_KEY] = row.reflection_id
    if row.kind == TriggerKind.TIME:
        await reply(update, texts.TRG_ASK_CHANGE_TIME, reply_markup=day_keyboard())
        return TIME
    await reply(update, texts.TRG_ASK_CHANGE_SITUATION)
    return SITUATION


async def _read_phrase(update: Update, context: BotContext, phrase: str) -> int:
    """Saves a situation or a time, explains a bad time, or asks whether it is a situation."""
    user = await ensure_user(update, context)
    reading = read_moment(phrase, datetime.now(UTC), zone_of(user))
    if reading.kind == "situation":
        return await _save_situation(update, context, reading.text)
    if reading.kind == "bad_time":
        await reply(update, reading.error, reply_markup=day_keyboard())
        return TIME
    if reading.kind == "ask" or reading.spec is None:
        context.person[CUE_KEY] = reading.text
        await reply(
            update,
            texts.TRG_AS_SITUATION.format(cue=reading.text),
            reply_markup=_confirm_keyboard(),
        )
        return CONFIRM
    return await _save_time(update, context, reading.spec)


def _confirm_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.TRG_BUTTON_YES_SITUATION, callback_data="trg:keep"),
                InlineKeyboardButton(texts.TRG_BUTTON_NO_TIME, callback_data="trg:atime"),
            ]
        ]
    )


async def time_text(update: Update, context: BotContext) -> int | None:
    """Reads a typed time (or situation); a sentence that is a bad time is kept as a capture."""
    message = update.effective_message
    if message is None or not message.text:
        return None
    text = message.text
    if plainly_a_sentence(text):
        user = await ensure_user(update, context)
        if read_moment(text, datetime.now(UTC), zone_of(user)).kind == "bad_time":
            await keep_and_ask_again(update, context, ask_time)
            return TIME
    return await _read_phrase(update, context, text)


async def confirm_text(update: Update, context: BotContext) -> int | None:
    """Takes a typed time while "is this a situation?" waits; other text is kept as a capture.

    The waiting text stays waiting for its tap, so nothing typed is dropped or replaced.
    """
    message = update.effective_message
    if message is None or not message.text:
        return None
    user = await ensure_user(update, context)
    reading = read_moment(message.text, datetime.now(UTC), zone_of(user))
    if reading.kind == "time" and reading.spec is not None:
        context.person.pop(CUE_KEY, None)
        return await _save_time(update, context, reading.spec)
    await keep_and_ask_again(update, context, ask_confirm)
    return CONFIRM


async def day_chosen(update: Update, context: BotContext) -> int:
    """Shows the hour grid for the tapped day."""
    query = update.callback_query
    await answer_query(query)
    day = ((query.data if query else None) or "").rsplit(":", 1)[-1]
    if not (day == "t" or (day.isdigit() and int(day) < 7)):
        return TIME
    example = "tomorrow 7:15" if day == "t" else f"{DAY_NAMES[int(day)][:3].lower()} 7:15"
    await reply(
        update,
        texts.TRG_ASK_HOUR.format(day=_day_phrase(day).capitalize(), example=example),
        reply_markup=hour_keyboard(day),
    )
    return TIME


async def hour_chosen(update: Update, context: BotContext) -> int:
    """Sets the tapped day and hour as a one-off time."""
    query = update.callback_query
    await answer_query(query)
    parts = ((query.data if query else None) or "").split(":")
    if len(parts) != 4 or not parts[3].isdigit():
        return TIME
    _, _, day, hour = parts
    await drop_buttons(update)
    return await _read_phrase(update, context, f"{_day_phrase(day)} {int(hour):02d}:00")


async def situation_instead(update: Update, context: BotContext) -> int:
    """Switches from a time to a situation."""
    await answer_query(update.callback_query)
    await ask_situation(update, context)
    return SITUATION


async def keep_as_situation(update: Update, context: BotContext) -> int:
    """Saves the text waiting for confirmation as a situation."""
    query = update.callback_query
    cue = context.person.pop(CUE_KEY, None)
    if not isinstance(cue, str) or not cue:
        await answer_query(query, texts.TRG_GONE)
        return ConversationHandler.END
    await answer_query(query)
    await drop_buttons(update)
    return await _save_situation(update, context, cue)


async def time_instead(update: Update, context: BotContext) -> int:
    """Asks for the time after all."""
    await answer_query(update.callback_query)
    context.person.pop(CUE_KEY, None)
    await drop_buttons(update)
    await ask_time(update, context)
    return TIME


async def situation_text(update: Update, context: BotContext) -> int:
    """Saves the typed situation."""
    message = update.effective_message
    if message is None or not message.text:
        return SITUATION
    return await _save_situation(update, context, message.text)


async def situation_voice(update: Update, context: BotContext) -> int:
    """Saves a spoken situation, heard by the voice pipeline while others are answered."""
    message = update.effective_message
    memo = voice.memo_of(message) if message is not None else None
    if message is None or memo is None:
        return SITUATION
    user = await ensure_user(update, context)
    heard = await voice.hear(
        context.application, memo, chat_id=message.chat_id, language=user.language, user_id=user.id
    )
    if isinstance(heard, voice.NotHeard):
        logger.info("spoken situation not heard: %s", heard.failure)
        await reply(update, texts.TRG_NO_WORDS)
        return SITUATION
    return await _save_situation(update, context, heard.text)


# ------------------------------------------------------------------ saving


async def _target(
    context: BotContext, triggers: TriggerRepository, user_id: int, kind: TriggerKind
) -> Trigger | None:
    """The trigger being changed, or a new one for the remembered paragraph."""
    edit_id = context.person.get(EDIT_KEY)
    if edit_id is not None:
        return await triggers.get(user_id, int(edit_id))
    reflection_id = context.person.get(REFLECTION_KEY)
    if reflection_id is None:
        return None
    reflection = await ReflectionRepository(triggers.session).saved(user_id, int(reflection_id))
    if reflection is None:
        return None
    row = await triggers.add(user_id, reflection.id, kind)
    return row


def _saved_keyboard(row: Trigger) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(texts.TRG_BUTTON_UNDO, callback_data=f"tg:undo:{row.id}")]
    if row.kind == TriggerKind.TIME and row.recurrence == "once":
        buttons.append(
            InlineKeyboardButton(texts.TRG_BUTTON_WEEKLY, callback_data=f"tg:weekly:{row.id}")
        )
    return InlineKeyboardMarkup([buttons])


async def _save_time(update: Update, context: BotContext, spec: TimeTrigger) -> int:
    """Stores the time trigger, schedules it, and confirms it in plain words."""
    user = await ensure_user(update, context)
    tz = zone_of(user)
    now = datetime.now(UTC)
    editing = context.person.get(EDIT_KEY) is not None
    async with context.db() as session, session.begin():
        triggers = TriggerRepository(session)
        row = await _target(context, triggers, user.id, TriggerKind.TIME)
        if row is not None:
            trigger.apply_time(row, spec, now, tz)
            await session.flush()
    _reset(context)
    if row is None:
        await reply(update, texts.TRG_GONE)
        return ConversationHandler.END
    trigger.schedule(context.application, row, user.chat_id)
    when = describe(spec, tz, now)
    logger.info("time trigger %s set (%s) for %s", row.id, spec.kind, user.id)
    if editing:
        await reply(update, texts.TRG_CHANGED.format(when=when))
    else:
        await reply(update, texts.TRG_TIME_SET.format(when=when), reply_markup=_saved_keyboard(row))
    return ConversationHandler.END


async def _save_situation(update: Update, context: BotContext, cue: str) -> int:
    """Stores the situation as a cue with keywords and says how to find it."""
    cue = " ".join(cue.split())[:MAX_CUE]
    if not content_words(cue):
        await reply(update, texts.TRG_ASK_SITUATION)
        return SITUATION
    user = await ensure_user(update, context)
    editing = context.person.get(EDIT_KEY) is not None
    async with context.db() as session, session.begin():
        triggers = TriggerRepository(session)
        row = await _target(context, triggers, user.id, TriggerKind.SITUATION)
        if row is not None:
            trigger.apply_situation(row, cue)
            await session.flush()
    _reset(context)
    if row is None:
        await reply(update, texts.TRG_GONE)
        return ConversationHandler.END
    trigger.unschedule(context.application, row.user_id, row.id)
    logger.info("situation trigger %s set for %s (%d characters)", row.id, user.id, len(cue))
    text = texts.TRG_SITUATION_SET.format(cue=cue, word=_last_word(cue))
    if editing:
        await reply(update, texts.TRG_CHANGED.format(when=cue))
    else:
        await reply(update, text, reply_markup=_saved_keyboard(row))
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leaves without setting a moment."""
    _reset(context)
    await reply(update, texts.TRG_CANCELLED)
    return ConversationHandler.END


async def stale_button(update: Update, context: BotContext) -> None:
    """Answers a day/hour/confirm button from a conversation that has ended."""
    await answer_query(update.callback_query, texts.TRG_GONE)


def register(application: BetweenApp) -> None:
    application.add_handler(
        ConversationHandler(
            entry_points=[
                CallbackQueryHandler(offer_choice, pattern=r"^trg:(time|sit):\d+$"),
                CallbackQueryHandler(later, pattern=r"^trg:later$"),
                command("trigger", trigger_command),
                CallbackQueryHandler(change, pattern=r"^tg:edit:\d+$"),
            ],
            states={
                TIME: [
                    MessageHandler(NEW_TEXT, time_text),
                    CallbackQueryHandler(day_chosen, pattern=r"^trg:day:[0-6t]$"),
                    CallbackQueryHandler(hour_chosen, pattern=r"^trg:hour:[0-6t]:\d{1,2}$"),
                    CallbackQueryHandler(situation_instead, pattern=r"^trg:asit$"),
                    *not_answers(ask_time),
                ],
                SITUATION: [
                    MessageHandler(NEW_TEXT, situation_text),
                    # heard off the update loop: PTB holds the conversation in WAITING
                    MessageHandler(NEW & filters.VOICE, situation_voice, block=False),
                    *not_answers(ask_situation),
                ],
                ConversationHandler.WAITING: while_listening("trg:"),
                CONFIRM: [
                    CallbackQueryHandler(keep_as_situation, pattern=r"^trg:keep$"),
                    CallbackQueryHandler(time_instead, pattern=r"^trg:atime$"),
                    MessageHandler(NEW_TEXT, confirm_text),
                    *not_answers(ask_confirm),
                ],
            },
            fallbacks=[command("cancel", cancel)],
            name="triggers",
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
            persistent=application.persistence is not None,
        )
    )
    application.add_handler(CallbackQueryHandler(stale_button, pattern=r"^(trg|tg):"))
