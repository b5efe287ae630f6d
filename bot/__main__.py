"""`python -m bot`: run the bot (polling, or webhook when WEBHOOK_URL is set), or a tool.

python -m bot                  run the bot
python -m bot migrate          apply database migrations and exit
python -m bot transcribe F...  print NAME<TAB>TEXT for each audio file
python -m bot rotate-key       re-encrypt all stored text under the first ENCRYPTION_KEY
python -m bot worker           transcribe queued memos (TRANSCRIBE_BACKEND=queue; PostgreSQL)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from telegram import Update

from bot.config import Settings, load_settings
from bot.errors import BetweenError, ConfigError, EncryptionKeyError

logger = logging.getLogger("bot")


# At DEBUG these log whole updates, API parameters (message texts) or SQL parameters
# (aiosqlite), so they stay at INFO even with LOG_LEVEL=DEBUG: logs never carry content.
CONTENT_LOGGERS = (
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Application",
    "telegram.ext.Updater",
    "telegram.ext.ConversationHandler",
    "aiosqlite",
)
# Chatty; httpx logs every URL (which holds the bot token) and SQLAlchemy logs statements
# with their parameters at INFO as soon as the root logger allows it. fontTools' subsetter
# lists the glyphs a PDF uses (the person's letters) at INFO; bot/pdf.py never gives fpdf2 a
# character the font lacks, so its warning naming them never fires.
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    "alembic",
    "faster_whisper",
    "sqlalchemy",
    "fontTools",
    "fpdf",
    "procrastinate",
)


def configure_logging(level: str) -> None:
    """Logs ids, sizes and timings; loggers that would print content are capped."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    numeric = logging.getLevelName(level)
    for name in CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, numeric))
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))


def run_bot(settings: Settings) -> None:
    """Runs until interrupted: long polling, or a webhook server when WEBHOOK_URL is set."""
    from bot.app import build_application

    settings.token  # noqa: B018 - fails early with the one-line hint when missing
    asyncio.run(check_key(settings))  # a wrong ENCRYPTION_KEY stops here, before any write
    application = build_application(settings, freeze_heap=True)
    if settings.webhook_url:
        assert settings.webhook_secret is not None
        logger.info("starting webhook server on port %s", settings.port)
        application.run_webhook(
            listen="0.0.0.0",
            port=settings.port,
            url_path="telegram",
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            bootstrap_retries=-1,
        )
    else:
        logger.info("starting long polling")
        application.run_polling(
            allowed_updates=Update.ALL_TYPES, drop_pending_updates=False, bootstrap_retries=-1
        )


async def check_key(settings: Settings) -> None:
    """Raises EncryptionKeyError when ENCRYPTION_KEY does not open the stored text."""
    from bot.keys import verify_key
    from storage.db import create_engine
    from storage.encrypted import TextCipher

    cipher = TextCipher(settings.encryption_keys) if settings.encryption_keys else None
    engine = create_engine(settings.database_url, cipher)
    try:
        await verify_key(engine, cipher)
    finally:
        await engine.dispose()


async def rotate_key(settings: Settings) -> list[str]:
    """Re-encrypts everything under the first key; returns the report lines."""
    from bot.keys import rotate_all, verify_key
    from storage.db import create_engine, migrate
    from storage.encrypted import TextCipher

    if not settings.encryption_keys:
        raise ConfigError(
            "ENCRYPTION_KEY is not set: rotate-key encrypts everything under its first key. "
            "Set ENCRYPTION_KEY=new_key,old_key (the old one only if data is encrypted already)."
        )
    cipher = TextCipher(settings.encryption_keys)
    engine = create_engine(settings.database_url, cipher)
    try:
        await verify_key(engine, cipher)
        await migrate(engine)
        report = await rotate_all(engine, cipher)
    finally:
        await engine.dispose()
    return report.lines()


async def run_migrations(settings: Settings) -> None:
    from storage.db import create_engine, migrate

    engine = create_engine(settings.database_url)
    await migrate(engine)
    await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    transcribe = sub.add_parser("transcribe", help="print NAME<TAB>TEXT for each audio file")
    transcribe.add_argument("files", nargs="+")
    sub.add_parser("rotate-key", help="re-encrypt all stored text under the first ENCRYPTION_KEY")
    sub.add_parser("worker", help="transcribe queued memos (TRANSCRIBE_BACKEND=queue)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        if args.command == "migrate":
            asyncio.run(run_migrations(settings))
            return 0
        if args.command == "transcribe":
            from bot.cli_transcribe import main as transcribe_main

            return transcribe_main(args.files, settings)
        if args.command == "worker":
            from bot.worker import run_worker

            settings.queue_conninfo  # noqa: B018 - one line when DATABASE_URL is not PostgreSQL
            asyncio.run(run_worker(settings))
            return 0
        if args.command == "rotate-key":
            for line in asyncio.run(rotate_key(settings)):
                print(line)
            return 0
        run_bot(settings)
        return 0
    except (ConfigError, EncryptionKeyError) as exc:
        print(f"Between: {exc}", file=sys.stderr)
        return 2
    except BetweenError as exc:
        print(f"Between: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
