"""/help: the between-session system in five steps, and the command list."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.context import BetweenApp, BotContext
from handlers.common import command, reply


def command_list() -> str:
    return "\n".join(f"/{name} - {description}" for name, description in texts.COMMANDS)


async def help_command(update: Update, context: BotContext) -> None:
    """Explains the five steps and lists the commands."""
    await reply(update, texts.HELP.format(commands=command_list()))


def register(application: BetweenApp) -> None:
    application.add_handler(command("help", help_command))
