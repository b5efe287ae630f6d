"""Encryption at rest for what people say, per engine, with no module-level key.

`EncryptedText` columns look for a `TextCipher` attached to the engine's dialect
(`attach_cipher(engine, cipher)`); with none attached the text is stored as is.
Encrypted values carry a `fernet:` marker and are recognised on read, so a database can
move from plain to encrypted (new and rewritten rows are encrypted) and keys can rotate
through MultiFernet.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

from bot.errors import EncryptionKeyError

MARKER = "fernet:"  # stored values are MARKER + token, so plain and encrypted rows can coexist
_ATTR = "between_text_cipher"


class TextCipher:
    """Encrypts with the first key, decrypts with any (MultiFernet), so keys can rotate."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("TextCipher needs at least one key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, text: str) -> str:
        return MARKER + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.removeprefix(MARKER).encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise EncryptionKeyError("ENCRYPTION_KEY does not decrypt the stored text") from exc

    def rotate(self, stored: str) -> str:
        """Re-encrypts a stored value under the newest key (for `python -m bot rotate-key`)."""
        token = stored.removeprefix(MARKER).encode("ascii")
        try:
            return MARKER + self._fernet.rotate(token).decode("ascii")
        except InvalidToken as exc:
            raise EncryptionKeyError("ENCRYPTION_KEY does not decrypt the stored text") from exc


def looks_encrypted(value: str) -> bool:
    """True for a value EncryptedText wrote while a key was set."""
    return value.startswith(MARKER)


def attach_cipher(engine: AsyncEngine, cipher: TextCipher | None) -> None:
    """Makes every EncryptedText column on this engine use `cipher` (None: plain text)."""
    setattr(engine.sync_engine.dialect, _ATTR, cipher)


def cipher_of(dialect: Dialect) -> TextCipher | None:
    return getattr(dialect, _ATTR, None)


class EncryptedText(TypeDecorator[str]):
    """Text that is Fernet-encrypted at rest when the engine has a cipher attached."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        cipher = cipher_of(dialect)
        if value is None or cipher is None:
            return value
        return cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not looks_encrypted(value):
            return value
        cipher = cipher_of(dialect)
        if cipher is None:
            raise EncryptionKeyError("stored text is encrypted but ENCRYPTION_KEY is not set")
        return cipher.decrypt(value)
