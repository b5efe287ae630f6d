"""Exceptions raised by Between's own code.

One root so callers can catch everything the bot raises on purpose:

    BetweenError
    ├── ConfigError            a setting is missing or malformed (startup stops)
    ├── TranscriptionError     audio could not be turned into text
    │   ├── AudioDecodeError   the bytes are not audio we can decode
    │   └── AudioTooLongError  the memo is longer than MAX_VOICE_SECONDS
    ├── EncryptionKeyError     ENCRYPTION_KEY does not open the stored text
    └── NoPersonError          a flow got an update without a sender (a bug: the guard stops those)
"""

from __future__ import annotations


class BetweenError(Exception):
    """Root of every exception Between raises on purpose."""


class ConfigError(BetweenError):
    """A setting is missing or malformed; the message is one line that says how to fix it."""


class TranscriptionError(BetweenError):
    """Audio could not be turned into text."""


class AudioDecodeError(TranscriptionError):
    """The bytes are not audio that can be decoded (broken, empty or not audio at all)."""


class AudioTooLongError(TranscriptionError):
    """The memo is longer than the configured maximum."""


class EncryptionKeyError(BetweenError):
    """ENCRYPTION_KEY cannot decrypt what is stored (wrong or missing key)."""


class NoPersonError(BetweenError):
    """A flow was handed an update with no user or chat; the access guard stops those first."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} has no user or chat")
