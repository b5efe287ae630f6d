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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler

from bot import texts
from bot.context import BotContext
from handlers.capture import keep_message
from handlers.common import NEW_AUDIO, NEW_OTHER, NEW_TEXT, reply

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
) -> list[BaseHandler[Update, BotContext, None]]:
    """Handlers that end a state's list: audio and wordless messages, and text when `text`.

    Args:
        ask_again: sends the state's question again.
        text: also keep typed text (for states that wait for a tap).
    """

    async def keep(update: Update, context: BotContext) -> None:
        await keep_and_ask_again(update, context, ask_again)

    handlers: list[BaseHandler[Update, BotContext, None]] = [
        MessageHandler(NEW_AUDIO, keep),
        MessageHandler(NEW_OTHER, keep),
    ]
    if text:
        handlers.append(MessageHandler(NEW_TEXT, keep))
    return handlers
