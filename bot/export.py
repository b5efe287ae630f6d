"""/export files: a readable Markdown file and a complete JSON file of one person's rows.

The JSON holds every column of every row of every personal table (storage.personal), so
nothing stored is left out, including superseded reflection versions, paused triggers and
conversation state. The Markdown is the same story for a human: settings, then each session
with its captures, reflections (earlier versions too), moments and recalls, in local time.
Both are built in memory and never written to disk.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from storage.personal import PersonalData

FORMAT = "between-export"
VERSION = 1
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
QUESTIONS = (
    ("answer_what", "What was the thing?"),
    ("answer_why", "Why does it matter for how I actually live?"),
    ("answer_do", "What does the changed version of me do this week?"),
)
KIND_NAMES = {
    "voice": "voice memo",
    "audio": "audio",
    "video_note": "video note",
    "text": "typed",
    "mark": "mark",
}
Row = dict[str, Any]


def filenames(day: date) -> tuple[str, str]:
    """between-export-YYYY-MM-DD.md and .json."""
    stem = f"between-export-{day:%Y-%m-%d}"
    return f"{stem}.md", f"{stem}.json"


# --------------------------------------------------------------------------- JSON


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot export {type(value).__name__}")


def as_json(data: PersonalData, now: datetime) -> str:
    """Every stored row of the person, per table; timestamps are naive UTC as stored.

    Args:
        data: the person's rows (storage.personal.PersonalDataRepository.collect).
        now: the export time (aware).

    Returns:
        Pretty-printed JSON (UTF-8 text, non-ASCII kept as is).
    """
    document = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.astimezone(UTC).isoformat(),
        "user_id": data.user_id,
        "timestamps": "UTC",
        "tables": data.tables,
    }
    return json.dumps(document, default=_plain, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- Markdown


def _local(value: datetime | None, zone: tzinfo) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC).astimezone(zone)


def _when(value: datetime | None, zone: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = _local(value, zone)
    return local.strftime(fmt) if local else "?"


def _quote(text: str | None) -> str:
    """The person's words as a Markdown block quote, every line kept."""
    if not text:
        return "> (no words)"
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def _value(value: object) -> str:
    """An enum's stored value, or the value itself, as text ("" for None)."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _settings(user: Row) -> list[str]:
    weekday, at = user.get("therapy_weekday"), user.get("therapy_time")
    therapy = f"{WEEKDAYS[weekday]} {at:%H:%M}" if weekday is not None and at else "not set"
    evening = user.get("evening_time")
    tidy = user.get("tidy_hours")
    return [
        "## Settings",
        "",
        f"- Time zone: {user.get('timezone')}",
        f"- Therapy: {therapy}",
        f"- Evening prompt: {f'{evening:%H:%M}' if evening else 'off'}",
        f"- Voice language: {user.get('language') or 'auto'}",
        f"- Pin paragraph: {'on' if user.get('pin_paragraph') else 'off'}",
        f"- Ask how it went after: {user.get('followup_hours')} h",
        f"- Tidy chat after: {f'{tidy} h' if tidy else 'off'}",
        f"- Keep voice audio: {'on' if user.get('keep_audio') else 'off'}",
        "",
    ]


def _capture(row: Row, zone: tzinfo) -> list[str]:
    kind = KIND_NAMES.get(str(_value(row.get("kind"))), str(_value(row.get("kind"))))
    star = " · ★ what landed" if row.get("landed") else ""
    status = str(_value(row.get("status")))
    note = "" if status in ("saved", "transcribed") else f" · {status}"
    if row.get("error"):
        note += f" ({row['error']})"
    head = f"- {_when(row.get('created_at'), zone, '%H:%M')} · {kind}{star}{note}"
    return [head, "", _quote(row.get("text")) if row.get("text") else "  (no text)", ""]


def _reflection(row: Row, zone: tzinfo) -> list[str]:
    status = str(_value(row.get("status")))
    saved = f", saved {_when(row.get('saved_at'), zone)}" if row.get("saved_at") else ""
    lines = [f"#### Reflection, version {row.get('version')} ({status}{saved})", ""]
    for column, question in QUESTIONS:
        lines += [f"**{question}**", "", _quote(row.get(column)), ""]
    if row.get("paragraph"):
        lines += ["**The paragraph**", "", _quote(row.get("paragraph")), ""]
    return lines


def _trigger(row: Row, zone: tzinfo) -> list[str]:
    kind = str(_value(row.get("kind")))
    status = str(_value(row.get("status")))
    if kind == "time":
        when = row.get("recurrence") or ""
        if row.get("weekdays"):
            days = ",".join(WEEKDAYS[int(d)] for d in str(row["weekdays"]).split(",") if d)
            when += f" {days}"
        if row.get("at_time"):
            when += f" {row['at_time']:%H:%M}"
        if row.get("once_at"):
            when += f" {_when(row['once_at'], zone)}"
        head = f"- ⏰ {when.strip()} ({status}, fired {row.get('fire_count') or 0} times)"
    else:
        head = f"- 💬 situation ({status})"
    lines = [head]
    if row.get("cue"):
        lines += ["", _quote(row["cue"])]
    return [*lines, ""]


def _recall(row: Row, zone: tzinfo) -> list[str]:
    helped_value = row.get("helped")
    helped = (
        {True: "it helped", False: "it didn't help"}.get(helped_value, "")
        if isinstance(helped_value, bool)
        else ""
    )
    parts = [_when(row.get("created_at"), zone), str(_value(row.get("source")))]
    if row.get("read_at"):
        parts.append("read")
    if helped:
        parts.append(helped)
    lines = ["- " + " · ".join(parts)]
    if row.get("outcome"):
        lines += ["", _quote(row["outcome"])]
    return [*lines, ""]


def markdown(data: PersonalData, zone: tzinfo, now: datetime) -> str:
    """A readable account of everything stored, session by session, in local time.

    Args:
        data: the person's rows (storage.personal.PersonalDataRepository.collect).
        zone: the person's time zone.
        now: the export time (aware).

    Returns:
        Markdown text.
    """
    user = data.user or {}
    lines = [
        "# Between: everything stored about you",
        "",
        f"Exported {now.astimezone(zone):%Y-%m-%d %H:%M} ({user.get('timezone', 'UTC')}) "
        f"for Telegram user {data.user_id}. The JSON file next to this one holds every "
        "stored field.",
        "",
    ]
    if user:
        lines += _settings(user)

    captures: defaultdict[int, list[Row]] = defaultdict(list)
    reflections: defaultdict[int, list[Row]] = defaultdict(list)
    for row in data.rows("captures"):
        captures[row["session_id"]].append(row)
    for row in data.rows("reflections"):
        reflections[row["session_id"]].append(row)
    triggers: defaultdict[int | None, list[Row]] = defaultdict(list)
    for row in data.rows("triggers"):
        triggers[row.get("reflection_id")].append(row)
    recalls: defaultdict[int | None, list[Row]] = defaultdict(list)
    for row in data.rows("recalls"):
        recalls[row.get("reflection_id")].append(row)

    sessions = data.rows("therapy_sessions")
    if sessions:
        lines += ["## Sessions", ""]
    for session in sorted(sessions, key=lambda r: (r["started_at"], r["id"]), reverse=True):
        day: date = session["local_date"]
        lines += [f"### {WEEKDAYS[day.weekday()]} {day:%d %b %Y}", ""]
        if captures[session["id"]]:
            lines += ["#### Captured", ""]
            for row in captures[session["id"]]:
                lines += _capture(row, zone)
        for row in sorted(reflections[session["id"]], key=lambda r: r.get("version") or 0):
            lines += _reflection(row, zone)
            if triggers[row["id"]]:
                lines += ["**Moments for it to come back**", ""]
                for trigger in triggers.pop(row["id"]):
                    lines += _trigger(trigger, zone)
            if recalls[row["id"]]:
                lines += ["**When it came back**", ""]
                for recall in recalls.pop(row["id"]):
                    lines += _recall(recall, zone)

    loose_triggers = [t for rows in triggers.values() for t in rows]
    if loose_triggers:
        lines += ["## Other moments", ""]
        for row in loose_triggers:
            lines += _trigger(row, zone)
    loose_recalls = [r for rows in recalls.values() for r in rows]
    if loose_recalls:
        lines += ["## Other recalls", ""]
        for row in loose_recalls:
            lines += _recall(row, zone)

    known = {"users", "therapy_sessions", "captures", "reflections", "triggers", "recalls"}
    other = {name: rows for name, rows in data.tables.items() if name not in known and rows}
    if other:
        lines += ["## Other stored records", ""]
        for name, rows in other.items():
            lines.append(f"- {name}: {len(rows)} (see the JSON file)")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
