"""/start: a short onboarding conversation (what this is, time zone, therapy day)."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler

from bot import texts
from bot.context import BetweenApp, BotContext
from bot.jobs import reschedule_user
from bot.views import recall_key_keyboard
from bot.zones import parse_timezone, zone_name
from handlers.asking import keep_and_ask_again, not_answers, plainly_a_sentence
from handlers.common import NEW_TEXT, answer_query, command, ensure_user, reply
from handlers.schedule import change_schedule
from storage.users import UserRepository

TIMEZONE, THERAPY = range(2)
TIMEOUT = timedelta(hours=1)  # an unfinished onboarding must not read every later sentence

COMMON_ZONES = (
    ("London", "Europe/London"),
    ("Berlin", "Europe/Berlin"),
    ("New York", "America/New_York"),
    ("Chicago", "America/Chicago"),
    ("Los Angeles", "America/Los_Angeles"),
    ("India", "Asia/Kolkata"),
    ("Sydney", "Australia/Sydney"),
    ("UTC", "UTC"),
)
ZONE_PREFIX = "tz:"


def zone_keyboard() -> InlineKeyboardMarkup:
    """Buttons for a few common zones, two per row."""
    buttons = [
        InlineKeyboardButton(label, callback_data=ZONE_PREFIX + key) for label, key in COMMON_ZONES
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def save_timezone(update: Update, context: BotContext, raw: str) -> bool:
    """Validates and stores a time zone; answers either way. Returns True when stored."""
    try:
        zone = parse_timezone(raw)
    except ValueError:
        if plainly_a_sentence(raw):
            await keep_and_ask_again(update, context, ask_timezone)
        else:
            await reply(update, texts.BAD_TIMEZONE, reply_markup=zone_keyboard())
        return False
    user = await ensure_user(update, context)
    async with context.db() as session, session.begin():
        row = await UserRepository(session).get(user.id)
        if row is not None:
            row.timezone = zone_name(zone)
    local = datetime.now(zone)
    await reply(
        update, texts.TIMEZONE_SET.format(zone=zone_name(zone), local_time=f"{local:%H:%M}")
    )
    await reschedule_user(context.application, user.id)
    return True


async def save_therapy(update: Update, context: BotContext, raw: str) -> bool:
    """Reads and stores any schedule phrase (handlers/schedule.py); answers either way."""
    return await change_schedule(update, context, raw, ask_therapy)


async def ask_timezone(update: Update, context: BotContext) -> None:
    """Asks (again) for the time zone."""
    await reply(update, texts.ASK_TIMEZONE, reply_markup=zone_keyboard())


async def ask_therapy(update: Update, context: BotContext) -> None:
    """Asks (again) for the therapy day."""
    await reply(update, texts.ASK_THERAPY, reply_markup=skip_keyboard())


async def start(update: Update, context: BotContext) -> int:
    """Introduces the bot and asks for the time zone."""
    await ensure_user(update, context)
    await reply(update, texts.INTRO)
    await ask_timezone(update, context)
    return TIMEZONE


async def timezone_text(update: Update, context: BotContext) -> int:
    """Stores a typed time zone and asks for the therapy day."""
    message = update.effective_message
    if message is None or not message.text:
        return TIMEZONE
    if not await save_timezone(update, context, message.text):
        return TIMEZONE
    await ask_therapy(update, context)
    return THERAPY


async def timezone_button(update: Update, context: BotContext) -> int:
    """Stores a tapped time zone and asks for the therapy day."""
    query = update.callback_query
    await answer_query(query)
    if query is None or not await save_timezone(
        update, context, (query.data or "").removeprefix(ZONE_PREFIX)
    ):
        return TIMEZONE
    await ask_therapy(update, context)
    return THERAPY


def skip_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_VARIES, callback_data="onb:varies"),
                InlineKeyboardButton(texts.BUTTON_SKIP, callback_data="onb:skip"),
            ]
        ]
    )


async def therapy_text(update: Update, context: BotContext) -> int:
    """Stores the therapy day and time and finishes onboarding."""
    message = update.effective_message
    if message is None or not message.text:
        return THERAPY
    if not await save_therapy(update, context, message.text):
        return THERAPY
    return await finish(update, context)


async def therapy_varies(update: Update, context: BotContext) -> int:
    """ "It varies": an irregular schedule; the bot asks for each next session later."""
    await answer_query(update.callback_query)
    await change_schedule(update, context, "irregular")
    return await finish(update, context)


async def therapy_skip(update: Update, context: BotContext) -> int:
    """Finishes onboarding without a therapy day."""
    await answer_query(update.callback_query)
    await reply(update, texts.THERAPY_SKIPPED)
    return await finish(update, context)


async def finish(update: Update, context: BotContext) -> int:
    """Marks the person as onboarded and tells them what to do next."""
    user = await ensure_user(update, context)
    async with context.db() as session, session.begin():
        row = await UserRepository(session).get(user.id)
        if row is not None:
            row.onboarded = True
    await reschedule_user(context.application, user.id)
    # the one-tap 🔁 Recall button under the message field, unless turned off in /settings
    keyboard = recall_key_keyboard() if row is None or row.recall_keyboard else None
    await reply(update, texts.ONBOARDED, reply_markup=keyboard)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leaves onboarding; what was set so far stays."""
    await reply(update, texts.ONBOARDING_CANCELLED)
    return ConversationHandler.END


def register(application: BetweenApp) -> None:
    application.add_handler(
        ConversationHandler(
            entry_points=[command("start", start)],
            states={
                TIMEZONE: [
                    MessageHandler(NEW_TEXT, timezone_text),
                    CallbackQueryHandler(timezone_button, pattern=f"^{ZONE_PREFIX}"),
                    *not_answers(ask_timezone),
                ],
                THERAPY: [
                    MessageHandler(NEW_TEXT, therapy_text),
                    command("skip", therapy_skip),
                    CallbackQueryHandler(therapy_skip, pattern="^onb:skip$"),
                    CallbackQueryHandler(therapy_varies, pattern="^onb:varies$"),
                    *not_answers(ask_therapy),
                ],
            },
            fallbacks=[command("cancel", cancel), command("start", start)],
            name="onboarding",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
        )
    )
