"""/settings: see and change the person's preferences, one tap or one line each."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler

from bot import texts
from bot.clock import zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import reschedule_user
from bot.schedule import Schedule, apply
from bot.timespec import parse_clock, read_schedule
from bot.views import recall_key_markup
from bot.zones import parse_timezone, zone_name
from handlers.asking import keep_and_ask_again, not_answers, plainly_a_sentence
from handlers.common import NEW_TEXT, answer_query, command, ensure_user, reply
from storage.models import User
from storage.users import UserRepository

MENU, ASKING = range(2)
TIMEOUT = timedelta(minutes=30)
ReplyMarkup = ReplyKeyboardMarkup | ReplyKeyboardRemove
SETTING_KEY: Final = "setting"  # user_data: the setting whose new value was asked for
PREFIX = "set:"
OFF_WORDS = {"off", "none", "no", "never", "0", "aus"}


@dataclass(frozen=True)
class Item:
    """One setting: how it reads, and how a typed answer changes it (None: a toggle)."""

    key: str
    label: str
    show: Callable[[User], str]
    prompt: str = ""
    apply: Callable[[User, str], None] | None = None
    toggle: Callable[[User], None] | None = None
    # after a toggle: a message of its own (e.g. a keyboard shown or removed), or None
    notice: Callable[[User], tuple[str, ReplyMarkup]] | None = None


def _on_off(value: bool) -> str:
    return texts.ON if value else texts.OFF


def _set_timezone(user: User, raw: str) -> None:
    user.timezone = zone_name(parse_timezone(raw))


def _set_therapy(user: User, raw: str) -> None:
    """Any schedule phrase: a rule, every N weeks, irregular, next, skip, move, or off."""
    now = datetime.now(UTC)
    apply(user, read_schedule(raw, now, zone_of(user), irregular=user.therapy_irregular), now)


def _set_evening(user: User, raw: str) -> None:
    user.evening_time = None if raw.strip().lower() in OFF_WORDS else parse_clock(raw)


def _set_language(user: User, raw: str) -> None:
    code = raw.strip().lower()
    if code in {"auto", "detect", "-"}:
        user.language = None
    elif code.isalpha() and 2 <= len(code) <= 3:
        user.language = code
    else:
        raise ValueError("send a two-letter language code like en or de, or auto.")


def _hours(raw: str, *, allow_off: bool) -> float | None:
    value = raw.strip().lower().removesuffix("h").removesuffix("hours").strip()
    if allow_off and value in OFF_WORDS:
        return None
    try:
        hours = float(value)
    except ValueError:
        raise ValueError("send a number of hours, like 3.") from None
    if not 0.1 <= hours <= 168:
        raise ValueError("pick between 0.1 and 168 hours.")
    return hours


def _set_followup(user: User, raw: str) -> None:
    user.followup_hours = _hours(raw, allow_off=False) or 3.0


def _set_tidy(user: User, raw: str) -> None:
    hours = _hours(raw, allow_off=True)
    user.tidy_hours = None if hours is None else max(1, round(hours))


def _show_therapy(user: User) -> str:
    """The rule in short, and the next three sessions in the person's zone."""
    schedule = Schedule.of(user)
    if schedule.weekday is not None and schedule.at is not None:
        every = {1: "every", 2: "every other"}.get(schedule.every_weeks)
        every = every or f"every {schedule.every_weeks} weeks,"
        rule = f"{every} {calendar.day_abbr[schedule.weekday]} {schedule.at:%H:%M}"
    elif user.therapy_irregular:
        rule = texts.IRREGULAR_SHORT
    else:
        return texts.NOT_SET
    upcoming = schedule.upcoming(datetime.now(UTC), 3)
    dates = ", ".join(f"{s.astimezone(schedule.tz):%a %d %b %H:%M}" for s in upcoming)
    return f"{rule}; next: {dates or texts.NONE_PLANNED}"


def _recall_key_notice(user: User) -> tuple[str, ReplyMarkup]:
    """The one-tap 🔁 Recall button shown again, or taken away (ReplyKeyboardRemove)."""
    on = user.recall_keyboard
    return (texts.RECALL_KEY_ON if on else texts.RECALL_KEY_OFF), recall_key_markup(on)


ITEMS: tuple[Item, ...] = (
    Item(
        "tz",
        "Time zone",
        lambda u: u.timezone,
        "Send a city, a zone name or an offset (+2).",
        _set_timezone,
    ),
    Item(
        "therapy",
        "Therapy",
        _show_therapy,
        texts.ASK_SCHEDULE_SETTING,
        _set_therapy,
    ),
    Item(
        "evening",
        "Evening prompt",
        lambda u: f"{u.evening_time:%H:%M}" if u.evening_time else texts.OFF,
        "When should I offer the evening questions on a therapy day? Like 20:30, or off.",
        _set_evening,
    ),
    Item(
        "lang",
        "Voice language",
        lambda u: u.language or "auto",
        "Which language do you speak in memos? A code like en or de, or auto.",
        _set_language,
    ),
    Item(
        "followup",
        "Ask how it went after",
        lambda u: f"{u.followup_hours:g} h",
        "How many hours after a recall should I ask how it went? Like 3.",
        _set_followup,
    ),
    Item(
        "tidy",
        "Tidy chat after",
        lambda u: f"{u.tidy_hours} h" if u.tidy_hours else texts.OFF,
        "Delete my transcript messages from this chat after how many hours? "
        "(The stored copy stays.) Like 24, or off.",
        _set_tidy,
    ),
    Item(
        "pin",
        "Pin paragraph",
        lambda u: _on_off(u.pin_paragraph),
        toggle=lambda u: setattr(u, "pin_paragraph", not u.pin_paragraph),
    ),
    Item(
        "audio",
        "Keep voice audio",
        lambda u: _on_off(u.keep_audio),
        toggle=lambda u: setattr(u, "keep_audio", not u.keep_audio),
    ),
    Item(
        "recallkey",
        "Recall button",
        lambda u: _on_off(u.recall_keyboard),
        toggle=lambda u: setattr(u, "recall_keyboard", not u.recall_keyboard),
        notice=_recall_key_notice,
    ),
)
BY_KEY = {item.key: item for item in ITEMS}
RESCHEDULE_KEYS = {"tz", "therapy", "evening"}


def summary(user: User) -> str:
    return "\n".join(f"{item.label}: {item.show(user)}" for item in ITEMS)


def menu_keyboard() -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(item.label, callback_data=PREFIX + item.key) for item in ITEMS]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton("Done", callback_data=PREFIX + "close")])
    return InlineKeyboardMarkup(rows)


async def show_menu(update: Update, context: BotContext) -> int:
    """Shows the current settings with a button for each."""
    user = await ensure_user(update, context)
    await reply(
        update, texts.SETTINGS_MENU.format(summary=summary(user)), reply_markup=menu_keyboard()
    )
    return MENU


async def choose(update: Update, context: BotContext) -> int:
    """Flips a toggle at once, or asks for the new value of the chosen setting."""
    query = update.callback_query
    await answer_query(query)
    key = (query.data or "") if query is not None else ""
    key = key.removeprefix(PREFIX)
    if key == "close":
        await reply(update, texts.SETTINGS_CLOSED)
        return ConversationHandler.END
    item = BY_KEY.get(key)
    if item is None:
        return MENU
    if item.toggle is not None:
        user = await ensure_user(update, context)
        async with context.db() as session, session.begin():
            row = await UserRepository(session).get(user.id)
            if row is not None:
                item.toggle(row)
        if row is not None and item.notice is not None:
            text, markup = item.notice(row)
            await reply(update, text, reply_markup=markup)
        return await show_menu(update, context)
    context.person[SETTING_KEY] = key
    await ask_value(update, context)
    return ASKING


async def ask_value(update: Update, context: BotContext) -> None:
    """Asks (again) for the value of the setting being changed."""
    item = BY_KEY.get(context.person.get(SETTING_KEY, ""))
    if item is not None:
        await reply(update, texts.SETTINGS_ASK.format(prompt=item.prompt))


async def menu_again(update: Update, context: BotContext) -> None:
    """Shows the menu again (for a message that came where a tap was expected)."""
    await show_menu(update, context)


async def answer(update: Update, context: BotContext) -> int:
    """Applies the typed value, or explains what went wrong and asks again."""
    message = update.effective_message
    if message is None or not message.text:
        return ASKING
    item = BY_KEY.get(context.person.get(SETTING_KEY, ""))
    if item is None or item.apply is None:
        return await show_menu(update, context)
    user = await ensure_user(update, context)
    try:
        async with context.db() as session, session.begin():
            row = await UserRepository(session).get(user.id)
            if row is not None:
                item.apply(row, message.text[:200])
    except ValueError as exc:
        if plainly_a_sentence(message.text):
            await keep_and_ask_again(update, context, ask_value)
        else:
            await reply(update, texts.SETTING_BAD.format(reason=exc))
        return ASKING
    context.person.pop(SETTING_KEY, None)
    if item.key in RESCHEDULE_KEYS:
        await reschedule_user(context.application, user.id)
    await reply(update, texts.SETTINGS_DONE)
    return await show_menu(update, context)


async def close(update: Update, context: BotContext) -> int:
    """Leaves the settings without changing the one being asked."""
    context.person.pop(SETTING_KEY, None)
    await reply(update, texts.SETTINGS_CLOSED)
    return ConversationHandler.END


def register(application: BetweenApp) -> None:
    application.add_handler(
        ConversationHandler(
            entry_points=[command("settings", show_menu)],
            states={
                MENU: [
                    CallbackQueryHandler(choose, pattern=f"^{PREFIX}"),
                    *not_answers(menu_again, text=True),
                ],
                ASKING: [
                    MessageHandler(NEW_TEXT, answer),
                    CallbackQueryHandler(choose, pattern=f"^{PREFIX}"),
                    *not_answers(ask_value),
                ],
            },
            fallbacks=[command("cancel", close), command("settings", show_menu)],
            name="settings",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
        )
    )
