"""/help: the between-session system in five steps, and the command list."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.context import BetweenApp, BotContext
from bot.views import recall_key_keyboard
from handlers.common import command, ensure_user, reply


def command_list() -> str:
    return "\n".join(f"/{name} - {description}" for name, description in texts.COMMANDS)


async def help_command(update: Update, context: BotContext) -> None:
    """Explains the five steps and lists the commands (with the 🔁 Recall button, if on)."""
    user = await ensure_user(update, context)
    keyboard = recall_key_keyboard() if user.recall_keyboard and user.onboarded else None
    await reply(update, texts.HELP.format(commands=command_list()), reply_markup=keyboard)


def register(application: BetweenApp) -> None:
    application.add_handler(command("help", help_command))
