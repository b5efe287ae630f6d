"""Captures: what a person said or typed right after (or during) a session, and their marks.

A voice capture is added as `pending` and committed before any slow step; the transcription
then moves it to `transcribed`, `empty` (no words heard) or `failed` (with a short error code).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Capture, CaptureKind, CaptureStatus, TherapySession
from storage.sessions import utcnow

# statuses /retry and the startup hook may pick up again
RETRYABLE = (CaptureStatus.PENDING, CaptureStatus.FAILED, CaptureStatus.EMPTY)
AUDIO_KINDS = (CaptureKind.VOICE, CaptureKind.AUDIO, CaptureKind.VIDEO_NOTE)


class CaptureRepository:
    """Reads and writes `captures` for one person at a time; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        user_id: int,
        *,
        session_id: int,
        kind: CaptureKind,
        status: CaptureStatus,
        chat_id: int,
        message_id: int | None = None,
        text: str | None = None,
        file_id: str | None = None,
        file_unique_id: str | None = None,
        file_size: int | None = None,
        duration: int | None = None,
    ) -> Capture:
        """Adds a capture to one of the person's sessions and flushes it (so it has an id).

        Args:
            user_id: the owner.
            session_id: the therapy session it belongs to (the caller picked it for this user).
            kind: voice, audio, video_note, text or mark.
            status: `pending` for audio, `saved` for text and marks.
            chat_id, message_id: where the person sent it.
            text: typed text or a mark's note.
            file_id, file_unique_id, file_size, duration: Telegram's file facts, for audio.

        Returns:
            The new row.
        """
        capture = Capture(
            user_id=user_id,
            session_id=session_id,
            kind=kind,
            status=status,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            file_id=file_id,
            file_unique_id=file_unique_id,
            file_size=file_size,
            duration=duration,
            landed=False,
            attempts=0,
            created_at=utcnow(),
        )
        self.session.add(capture)
        await self.session.flush()
        return capture

    async def get(self, user_id: int, capture_id: int) -> Capture | None:
        """The person's capture with this id, or None (also when it is someone else's)."""
        return await self.session.scalar(
            select(Capture).where(Capture.user_id == user_id, Capture.id == capture_id)
        )

    async def by_message(self, user_id: int, chat_id: int, message_id: int) -> Capture | None:
        """The capture made from the person's message with this id (to follow their edits)."""
        return await self.session.scalar(
            select(Capture).where(
                Capture.user_id == user_id,
                Capture.chat_id == chat_id,
                Capture.message_id == message_id,
            )
        )

    async def for_session(self, user_id: int, session_id: int) -> list[Capture]:
        """Every capture and mark of one session, oldest first."""
        result = await self.session.scalars(
            select(Capture)
            .where(Capture.user_id == user_id, Capture.session_id == session_id)
            .order_by(Capture.created_at, Capture.id)
        )
        return list(result)

    async def between(self, user_id: int, first: date, last: date) -> list[Capture]:
        """Captures and marks of the sessions dated `first`..`last`, oldest first."""
        result = await self.session.scalars(
            select(Capture)
            .join(TherapySession, TherapySession.id == Capture.session_id)
            .where(
                Capture.user_id == user_id,
                TherapySession.user_id == user_id,
                TherapySession.local_date >= first,
                TherapySession.local_date <= last,
            )
            .order_by(Capture.id)
        )
        return list(result)

    async def marks(self, user_id: int, session_id: int) -> list[Capture]:
        """The `/mark` stamps of one session, oldest first (the evening reflection lists them)."""
        result = await self.session.scalars(
            select(Capture)
            .where(
                Capture.user_id == user_id,
                Capture.session_id == session_id,
                Capture.kind == CaptureKind.MARK,
            )
            .order_by(Capture.created_at, Capture.id)
        )
        return list(result)

    async def landed(self, user_id: int, session_id: int) -> Capture | None:
        """The session's "this is what landed" capture, if the person picked one."""
        return await self.session.scalar(
            select(Capture)
            .where(
                Capture.user_id == user_id,
                Capture.session_id == session_id,
                Capture.landed.is_(True),
            )
            .order_by(Capture.id.desc())
            .limit(1)
        )

    async def cue(self, user_id: int, session_id: int) -> Capture | None:
        """The landed capture, else the latest one with words (the evening reflection's cue)."""
        picked = await self.landed(user_id, session_id)
        if picked is not None:
            return picked
        return await self.session.scalar(
            select(Capture)
            .where(
                Capture.user_id == user_id,
                Capture.session_id == session_id,
                Capture.kind != CaptureKind.MARK,
                Capture.status.in_((CaptureStatus.TRANSCRIBED, CaptureStatus.SAVED)),
            )
            .order_by(Capture.id.desc())
            .limit(1)
        )

    async def mark_landed(
        self, user_id: int, capture_id: int
    ) -> tuple[Capture | None, list[Capture]]:
        """Makes this capture the session's landed one and clears the flag on the others.

        Returns:
            (the capture or None when the person has none with this id, the captures that
            were marked as landed before and no longer are).
        """
        capture = await self.get(user_id, capture_id)
        if capture is None:
            return None, []
        previous = await self.session.scalars(
            select(Capture).where(
                Capture.user_id == user_id,
                Capture.session_id == capture.session_id,
                Capture.id != capture.id,
                Capture.landed.is_(True),
            )
        )
        before = list(previous)
        for other in before:
            other.landed = False
        capture.landed = True
        await self.session.flush()
        return capture, before

    async def replace_text(self, user_id: int, capture_id: int, text: str) -> Capture | None:
        """Replaces the text with the person's correction; a capture without words is now saved.

        Returns:
            The capture, or None when the person has no capture with this id.
        """
        capture = await self.get(user_id, capture_id)
        if capture is None:
            return None
        capture.text = text
        if capture.status in RETRYABLE:
            capture.status = CaptureStatus.SAVED
            capture.error = None
        await self.session.flush()
        return capture

    async def delete(self, user_id: int, capture_id: int) -> Capture | None:
        """Deletes one capture of the person; returns the deleted row, or None if not theirs."""
        capture = await self.get(user_id, capture_id)
        if capture is None:
            return None
        await self.session.execute(
            delete(Capture).where(Capture.user_id == user_id, Capture.id == capture_id)
        )
        return capture

    async def retryable(self, user_id: int, max_attempts: int | None = None) -> list[Capture]:
        """The person's audio captures without a transcript (pending, failed or empty).

        Args:
            user_id: the owner.
            max_attempts: only those tried fewer times than this; None for all.
        """
        query = select(Capture).where(
            Capture.user_id == user_id,
            Capture.kind.in_(AUDIO_KINDS),
            Capture.status.in_(RETRYABLE),
            Capture.file_id.is_not(None),
        )
        if max_attempts is not None:
            query = query.where(Capture.attempts < max_attempts)
        result = await self.session.scalars(query.order_by(Capture.id))
        return list(result)

    async def users_with_unfinished(
        self, max_attempts: int, statuses: tuple[CaptureStatus, ...]
    ) -> list[int]:
        """Ids of people who have audio captures in `statuses` tried fewer than max times.

        Used once at startup (it returns ids only, never content); the captures themselves are
        then read per person with `retryable`.
        """
        result = await self.session.scalars(
            select(Capture.user_id)
            .distinct()
            .where(
                Capture.kind.in_(AUDIO_KINDS),
                Capture.status.in_(statuses),
                Capture.attempts < max_attempts,
                Capture.file_id.is_not(None),
            )
        )
        return list(result)

    async def start_attempt(self, user_id: int, capture_id: int) -> Capture | None:
        """Counts one more transcription attempt and puts the capture back to pending."""
        capture = await self.get(user_id, capture_id)
        if capture is None:
            return None
        capture.attempts = (capture.attempts or 0) + 1
        capture.status = CaptureStatus.PENDING
        capture.error = None
        await self.session.flush()
        return capture

    async def finish(
        self,
        user_id: int,
        capture_id: int,
        *,
        status: CaptureStatus,
        text: str | None = None,
        error: str | None = None,
        audio_path: str | None = None,
    ) -> Capture | None:
        """Records how a transcription attempt ended; a text the person typed meanwhile stays.

        Args:
            user_id: the owner.
            capture_id: the capture.
            status: transcribed, empty or failed.
            text: the transcript (for transcribed).
            error: a short code such as `undecodable` (for failed or empty), never content.
            audio_path: where the audio was kept, when the person asked to keep it.

        Returns:
            The capture, or None when it was deleted (or is not theirs) meanwhile.
        """
        capture = await self.get(user_id, capture_id)
        if capture is None:
            return None
        if capture.status != CaptureStatus.PENDING:
            return capture  # fixed by hand while we worked: the person's words win
        capture.status = status
        capture.error = error
        if status == CaptureStatus.TRANSCRIBED:
            capture.text = text
            capture.transcribed_at = utcnow()
        if audio_path is not None:
            capture.audio_path = audio_path
        await self.session.flush()
        return capture

    async def set_reply(self, user_id: int, capture_id: int, message_id: int) -> None:
        """Remembers the bot message that shows this capture (to edit it later)."""
        await self.session.execute(
            update(Capture)
            .where(Capture.user_id == user_id, Capture.id == capture_id)
            .values(reply_message_id=message_id)
        )
