"""`python -m bot`: run the bot (polling, or webhook when WEBHOOK_URL is set), or a tool.

python -m bot                  run the bot
python -m bot migrate          apply database migrations and exit
python -m bot transcribe F...  print NAME<TAB>TEXT for each audio file
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from telegram import Update

from bot.config import Settings, load_settings
from bot.errors import BetweenError, ConfigError

logger = logging.getLogger("bot")


def configure_logging(level: str) -> None:
    """Logs ids, sizes and timings; the chatty HTTP and scheduler loggers stay at WARNING."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "telegram.ext.ExtBot"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def run_bot(settings: Settings) -> None:
    """Runs until interrupted: long polling, or a webhook server when WEBHOOK_URL is set."""
    from bot.app import build_application

    settings.token  # noqa: B018 - fails early with the one-line hint when missing
    application = build_application(settings)
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
        run_bot(settings)
        return 0
    except ConfigError as exc:
        print(f"Between: {exc}", file=sys.stderr)
        return 2
    except BetweenError as exc:
        print(f"Between: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
