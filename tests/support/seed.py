"""One person with a row in every personal table, for the data-rights tests."""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from pathlib import Path

from storage.models import (
    Capture,
    CaptureKind,
    CaptureStatus,
    ConversationState,
    Recall,
    RecallSource,
    Reflection,
    ReflectionStatus,
    TherapySession,
    Trigger,
    TriggerKind,
    TriggerStatus,
    User,
)
from storage.sessions import utcnow


def phrases(tag: str) -> list[str]:
    """The distinct texts `seed` stores for one person (each appears in exactly one place)."""
    return [
        f"{tag} voice words",
        f"{tag} typed sentence",
        f"{tag} mark note",
        f"{tag} first what",
        f"{tag} first paragraph",
        f"{tag} second what",
        f"{tag} second why",
        f"{tag} second do",
        f"{tag} second paragraph",
        f"{tag} morning walk",
        f"{tag} partner money",
        f"{tag} went fine outcome",
        f"{tag} conversation state",
    ]


async def seed(app, user_id: int, tag: str) -> dict[str, int]:
    """One person with a row in every table (two reflection versions, kept audio, jobs)."""
    texts_ = phrases(tag)
    now = utcnow()
    audio = Path("data") / "audio" / str(user_id)
    audio.mkdir(parents=True, exist_ok=True)
    async with app.bot_data.sessionmaker() as s, s.begin():
        s.add(
            User(
                id=user_id,
                chat_id=user_id,
                timezone="Europe/Berlin",
                therapy_weekday=1,
                therapy_time=time(17, 0),
                evening_time=time(20, 30),
                onboarded=True,
                tidy_hours=24,
            )
        )
        await s.flush()
        session = TherapySession(user_id=user_id, started_at=now, local_date=date.today())
        s.add(session)
        await s.flush()
        voice = Capture(
            user_id=user_id,
            session_id=session.id,
            kind=CaptureKind.VOICE,
            status=CaptureStatus.TRANSCRIBED,
            text=texts_[0],
            landed=True,
            chat_id=user_id,
            file_id="VOICE-x",
            duration=4,
        )
        s.add_all(
            [
                voice,
                Capture(
                    user_id=user_id,
                    session_id=session.id,
                    kind=CaptureKind.TEXT,
                    status=CaptureStatus.SAVED,
                    text=texts_[1],
                    chat_id=user_id,
                ),
                Capture(
                    user_id=user_id,
                    session_id=session.id,
                    kind=CaptureKind.MARK,
                    status=CaptureStatus.SAVED,
                    text=texts_[2],
                    chat_id=user_id,
                ),
            ]
        )
        await s.flush()
        path = audio / f"{voice.id}.ogg"
        path.write_bytes(b"OggS fake audio")
        voice.audio_path = str(path)
        first = Reflection(
            user_id=user_id,
            session_id=session.id,
            version=1,
            status=ReflectionStatus.SUPERSEDED,
            step=4,
            answer_what=texts_[3],
            paragraph=texts_[4],
            saved_at=now,
        )
        second = Reflection(
            user_id=user_id,
            session_id=session.id,
            version=2,
            status=ReflectionStatus.SAVED,
            step=4,
            answer_what=texts_[5],
            answer_why=texts_[6],
            answer_do=texts_[7],
            paragraph=texts_[8],
            saved_at=now,
        )
        s.add_all([first, second])
        await s.flush()
        walk = Trigger(
            user_id=user_id,
            reflection_id=second.id,
            kind=TriggerKind.TIME,
            status=TriggerStatus.ACTIVE,
            recurrence="weekly",
            weekdays="3",
            at_time=time(8, 0),
            next_fire_at=now + timedelta(days=2),
            cue=texts_[9],
        )
        money = Trigger(
            user_id=user_id,
            reflection_id=second.id,
            kind=TriggerKind.SITUATION,
            status=TriggerStatus.ACTIVE,
            cue=texts_[10],
            keywords="partner money",
        )
        s.add_all([walk, money])
        await s.flush()
        recall = Recall(
            user_id=user_id,
            reflection_id=second.id,
            trigger_id=walk.id,
            source=RecallSource.PING,
            helped=True,
            outcome=texts_[11],
            created_at=now,
        )
        s.add(recall)
        s.add(
            ConversationState(
                name="reflection",
                key=f"[{user_id},{user_id}]",
                user_id=user_id,
                state=json.dumps(texts_[12]),
                updated_at=now,
            )
        )
        await s.flush()
    return {
        "session": session.id,
        "voice": voice.id,
        "first": first.id,
        "reflection": second.id,
        "walk": walk.id,
        "money": money.id,
        "recall": recall.id,
    }
