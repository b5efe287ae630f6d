"""SQLAlchemy 2 typed models: one table per thing a person makes.

Telegram ids are BigInteger. Every row that holds what a person said carries `user_id`
and stores that text in an `EncryptedText` column (plain when no ENCRYPTION_KEY is set).
Timestamps are naive UTC (SQLite has no time zones); local times are computed with
zoneinfo from `User.timezone` at the edges. Their defaults are Python-side (`utcnow`), never
the server's `now()`: PostgreSQL's `now()` in a `timestamp without time zone` column is the
server's local wall clock.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.clock import utcnow
from storage.encrypted import EncryptedText


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base for every Between table."""


def _enum(cls: type[enum.Enum]) -> Enum:
    """Stores a str enum by value in a plain string column (portable, readable)."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class CaptureKind(enum.StrEnum):
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO_NOTE = "video_note"
    TEXT = "text"
    MARK = "mark"


class CaptureStatus(enum.StrEnum):
    PENDING = "pending"
    TRANSCRIBED = "transcribed"
    FAILED = "failed"
    EMPTY = "empty"  # decoded, but no words were heard
    SAVED = "saved"  # typed text and marks: nothing to transcribe


class ReflectionStatus(enum.StrEnum):
    DRAFT = "draft"
    SAVED = "saved"
    SUPERSEDED = "superseded"  # an earlier version, kept when the person reflects again


class TriggerKind(enum.StrEnum):
    TIME = "time"
    SITUATION = "situation"


class TriggerStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DONE = "done"  # a one-off that fired (or was missed past the grace period)


class RecallSource(enum.StrEnum):
    COMMAND = "command"
    SEARCH = "search"
    PING = "ping"


class User(Base):
    """A person using the bot, keyed by their Telegram user id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    therapy_weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    therapy_time: Mapped[time | None] = mapped_column(Time)
    # the rule (bot/schedule.py): every `therapy_every_weeks` weeks on the weekday, counted
    # from the local date `therapy_anchor`; or irregular (no rule: each next session is given
    # as a `TherapyDate`). Skipped and moved sessions are `TherapyDate` rows too.
    therapy_every_weeks: Mapped[int] = mapped_column(Integer, default=1)
    therapy_anchor: Mapped[date | None] = mapped_column(Date)
    therapy_irregular: Mapped[bool] = mapped_column(Boolean, default=False)
    recall_keyboard: Mapped[bool] = mapped_column(Boolean, default=True)  # the one-tap button
    evening_time: Mapped[time | None] = mapped_column(Time, default=time(20, 30))  # None: off
    language: Mapped[str | None] = mapped_column(String(8))  # None: auto-detect
    pin_paragraph: Mapped[bool] = mapped_column(Boolean, default=True)
    pinned_message_id: Mapped[int | None] = mapped_column(BigInteger)
    followup_hours: Mapped[float] = mapped_column(Float, default=3.0)
    tidy_hours: Mapped[int | None] = mapped_column(Integer)  # None: keep bot messages
    keep_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    last_evening_prompt_on: Mapped[date | None] = mapped_column(Date)
    last_digest_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    # loaded with the person (a handful of rows): every schedule question needs them
    therapy_dates: Mapped[list[TherapyDate]] = relationship(
        lazy="selectin",
        order_by="TherapyDate.starts_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TherapyDateKind(enum.StrEnum):
    SESSION = "session"  # a session off the rule: an irregular one, or where one moved to
    SKIP = "skip"  # the rule's session at `starts_at` does not happen


class TherapyDate(Base):
    """One exception to (or, when irregular, one entry of) a person's therapy schedule."""

    __tablename__ = "therapy_dates"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "starts_at", name="uq_therapy_dates_user_kind_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TherapyDateKind] = mapped_column(_enum(TherapyDateKind))
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SnoozeKind(enum.StrEnum):
    PING = "ping"  # a time trigger's ping
    EVENING = "evening"  # the evening prompt


class Snooze(Base):
    """A ping or evening prompt the person asked to see again later; sent once, then gone."""

    __tablename__ = "snoozes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[SnoozeKind] = mapped_column(_enum(SnoozeKind))
    trigger_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("triggers.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def unshared_slot() -> str:
    """The slot of a session opened outside `SessionRepository.current_or_new`: its own."""
    return f"own:{uuid.uuid4().hex}"


class TherapySession(Base):
    """One therapy hour; captures, marks and reflections hang off it."""

    __tablename__ = "therapy_sessions"
    __table_args__ = (UniqueConstraint("user_id", "slot", name="uq_therapy_sessions_user_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    local_date: Mapped[date] = mapped_column(Date)  # in the person's time zone
    # what opened it, unique per person, so captures arriving at once share one row:
    # "therapy:<UTC start of the hour>" or "day:<local date>" (storage/sessions.py),
    # "own:<uuid>" when opened elsewhere, "id:<id>" for sessions older than slots
    slot: Mapped[str] = mapped_column(String(64), default=unshared_slot)

    captures: Mapped[list[Capture]] = relationship(
        back_populates="session",
        foreign_keys="Capture.session_id",
        order_by="Capture.id",
        passive_deletes=True,
    )


class Capture(Base):
    """Something said or typed right after (or during) a session; committed before any slow step."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("therapy_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[CaptureKind] = mapped_column(_enum(CaptureKind))
    status: Mapped[CaptureStatus] = mapped_column(_enum(CaptureStatus), index=True)
    text: Mapped[str | None] = mapped_column(EncryptedText)
    landed: Mapped[bool] = mapped_column(Boolean, default=False)  # "this is what landed"
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # the person's message
    reply_message_id: Mapped[int | None] = mapped_column(BigInteger)  # the bot's answer
    file_id: Mapped[str | None] = mapped_column(String(256))
    file_unique_id: Mapped[str | None] = mapped_column(String(128))
    file_size: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds, from Telegram
    audio_path: Mapped[str | None] = mapped_column(String(512))  # kept only on request
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(64))  # a short code, never content
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    transcribed_at: Mapped[datetime | None] = mapped_column(DateTime)

    session: Mapped[TherapySession] = relationship(
        back_populates="captures", foreign_keys=[session_id]
    )


class Reflection(Base):
    """The evening's three answers and the one paragraph made of them (versioned per session)."""

    __tablename__ = "reflections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("therapy_sessions.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[ReflectionStatus] = mapped_column(_enum(ReflectionStatus), index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)  # the question being answered
    answer_what: Mapped[str | None] = mapped_column(EncryptedText)
    answer_why: Mapped[str | None] = mapped_column(EncryptedText)
    answer_do: Mapped[str | None] = mapped_column(EncryptedText)
    paragraph: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    saved_at: Mapped[datetime | None] = mapped_column(DateTime)

    triggers: Mapped[list[Trigger]] = relationship(
        back_populates="reflection", order_by="Trigger.id", passive_deletes=True
    )


class Trigger(Base):
    """A pre-decided moment: a time that pings, or a situation that /recall finds."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reflection_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("reflections.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TriggerKind] = mapped_column(_enum(TriggerKind))
    status: Mapped[TriggerStatus] = mapped_column(_enum(TriggerStatus), index=True)
    # time triggers: a recurrence ("once", "weekly", "daily", "weekdays"), weekdays "0,3",
    # a local wall-clock time, the one-off instant, and the next due instant (UTC)
    recurrence: Mapped[str | None] = mapped_column(String(16))
    weekdays: Mapped[str | None] = mapped_column(String(32))
    at_time: Mapped[time | None] = mapped_column(Time)
    once_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    last_fired_at: Mapped[datetime | None] = mapped_column(DateTime)
    fire_count: Mapped[int] = mapped_column(Integer, default=0)
    missed_count: Mapped[int] = mapped_column(Integer, default=0)
    # what the person typed: the label of a time trigger or the situation cue
    cue: Mapped[str | None] = mapped_column(EncryptedText)
    keywords: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    reflection: Mapped[Reflection | None] = relationship(back_populates="triggers")


class Recall(Base):
    """One time the paragraph came back (asked for, found, or pinged), and how it went."""

    __tablename__ = "recalls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reflection_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("reflections.id", ondelete="CASCADE"), index=True
    )
    trigger_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("triggers.id", ondelete="SET NULL")
    )
    source: Mapped[RecallSource] = mapped_column(_enum(RecallSource))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)  # "I read it"
    helped: Mapped[bool | None] = mapped_column(Boolean)
    followup_due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    followup_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    followup_message_id: Mapped[int | None] = mapped_column(BigInteger)  # "How did it go?"
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)  # the follow-up was answered
    outcome: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ConversationState(Base):
    """Persisted PTB conversation state and per-user data, so a restart resumes mid-chat."""

    __tablename__ = "conversation_states"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    state: Mapped[str | None] = mapped_column(EncryptedText)  # JSON
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Meta(Base):
    """Small key/value facts about the database itself (e.g. the encryption canary)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(512))


class TranscriptResult(Base):
    """What a queue worker heard for one memo (TRANSCRIBE_BACKEND=queue), until the bot reads it.

    Keyed by the job's key, so a job run twice (a worker killed after writing) writes once:
    the first write wins (`INSERT ... ON CONFLICT DO NOTHING`). The bot deletes a row as it
    reads it, and rows nobody came for are swept (storage/transcripts.py), so text does not
    linger; until then it is the person's row like any other (/export, /delete).
    """

    __tablename__ = "transcript_results"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str | None] = mapped_column(EncryptedText)  # None: not heard (see failure)
    failure: Mapped[str | None] = mapped_column(String(32))  # bot.voice.Failure, a code
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # audio length
    audio_path: Mapped[str | None] = mapped_column(String(512))  # kept only on request
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
