"""What a conversation state does with a message that is not its answer: keep it, ask again.

The rule (README, "No conversation swallows words"): a state takes only new messages. When
it asked for a time zone, a time, a number or a tap, and gets

- a sentence: typed text of `SENTENCE_WORDS` or more words that does not read as the answer;
- a voice memo or other audio where a button or a typed value was expected;

the message is kept as a capture, exactly as if no conversation were open, the person is
told so in one line, and the question is asked again. Shorter text that does not read gets
the state's own "I didn't understand" answer. A photo, sticker or other file holds no words:
one line says what can be kept, and the question is asked again. Commands keep their own
meaning in every state.

While a spoken answer is still being heard (a `block=False` handler: PTB keeps the
conversation in its WAITING state), `while_listening` keeps what arrives as a capture and
says the memo is still being listened to; a button of the conversation gets "one moment".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot import texts
from bot.context import BotContext
from handlers.capture import keep_message
from handlers.common import NEW, NEW_AUDIO, NEW_OTHER, NEW_TEXT, answer_query, reply

SENTENCE_WORDS = 4

AskAgain = Callable[[Update, BotContext], Awaitable[object]]


def plainly_a_sentence(text: str) -> bool:
    """True for text long enough to be something said, not a mistyped answer ("Berln")."""
    return len(text.split()) >= SENTENCE_WORDS


async def keep_and_ask_again(update: Update, context: BotContext, ask_again: AskAgain) -> None:
    """Keeps the message as a capture (or says what can be kept), then repeats the question."""
    kept = await keep_message(update, context)
    await reply(update, texts.KEPT_INSTEAD if kept else texts.NOT_WORDS)
    await ask_again(update, context)


def not_answers(
    ask_again: AskAgain, *, text: bool = False
) -> list[BaseHandler[Update, BotContext, Any]]:
    """Handlers that end a state's list: audio and wordless messages, and text when `text`.

    Args:
        ask_again: sends the state's question again.
        text: also keep typed text (for states that wait for a tap).
    """

    async def keep(update: Update, context: BotContext) -> None:
        await keep_and_ask_again(update, context, ask_again)

    handlers: list[BaseHandler[Update, BotContext, Any]] = [
        MessageHandler(NEW_AUDIO, keep),
        MessageHandler(NEW_OTHER, keep),
    ]
    if text:
        handlers.append(MessageHandler(NEW_TEXT, keep))
    return handlers


async def still_listening(update: Update, context: BotContext) -> None:
    """Asks the person to wait while their memo is transcribed."""
    await answer_query(update.callback_query, texts.REFLECT_LISTENING)


async def kept_while_listening(update: Update, context: BotContext) -> None:
    """Keeps what arrives while a spoken answer is transcribed, and says so."""
    if await keep_message(update, context):
        await reply(update, texts.REFLECT_KEPT_WHILE_LISTENING)
    else:
        await reply(update, texts.REFLECT_LISTENING)


def while_listening(prefix: str) -> list[BaseHandler[Update, BotContext, Any]]:
    """The WAITING state's handlers: new messages are kept, buttons under `prefix` wait.

    Args:
        prefix: the callback data prefix (a regex) of the conversation's own buttons.
    """
    return [
        MessageHandler(NEW & ~filters.COMMAND, kept_while_listening),
        CallbackQueryHandler(still_listening, pattern=f"^{prefix}"),
    ]
