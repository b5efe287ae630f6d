"""Cards and keyboards shared by handlers and jobs: recall card, ping, cue, digest, buttons.

Pure formatting: how a paragraph looks when it comes back (the /recall card, the ping, trigger
descriptions), the evening cue before the questions and the weekly digest. Cards are HTML
(parse_mode="HTML"); everything the person wrote is escaped with `html.escape`.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import replace

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot import texts
from bot.clock import aware
from bot.moments import TimeTrigger, describe
from bot.texts import DAY_NAMES
from storage.models import Capture, CaptureKind, Reflection, Trigger, TriggerKind, TriggerStatus
from storage.recalls import DigestFacts

UTC = dt.UTC
MAX_HEADLINE = 300
MAX_PARAGRAPH = 3000
MAX_CUE = 200
CUE_CHARS = 400  # an evening cue line longer than this is cut (the whole text stays stored)
MAX_OUTCOMES = 5  # what the person said about the latest recalls, in the digest
EVENING_START = "refl:start"  # callback data of the evening prompt's button (opens /reflect)
# "Later" buttons: sz:p:{recall id}:{choice} under a ping, sz:e:{prompt day}:{choice} under
# the evening prompt (the local date it was sent for, YYYYMMDD); choice: 20, 60 or t (tonight)
SNOOZE_PREFIX = "sz:"
SNOOZE_TONIGHT = "t"
SNOOZE_MINUTES = {"20": 20, "60": 60}


def cut(text: str | None, limit: int) -> str:
    """The text, shortened to `limit` characters with an ellipsis."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def day_label(naive_utc: dt.datetime, tz: dt.tzinfo) -> str:
    """ "Tue 24 Nov" in the person's time zone."""
    local = aware(naive_utc).astimezone(tz)
    return f"{DAY_NAMES[local.weekday()][:3]} {local.day} {local:%b}"


def spec_of(row: Trigger) -> TimeTrigger:
    """The timespec view of a stored time trigger."""
    days = tuple(int(d) for d in (row.weekdays or "").split(",") if d.strip().isdigit())
    return TimeTrigger(
        kind=row.recurrence or "once",  # type: ignore[arg-type]  # a stored str of the Literal
        weekdays=days,
        at=row.at_time or dt.time(0),
        once_at=aware(row.once_at) if row.once_at else None,
        label=row.cue or "",
    )


def describe_trigger(row: Trigger, tz: dt.tzinfo, now: dt.datetime) -> str:
    """Plain words for a trigger: "every Thursday at 08:00 (Berlin time) — morning walk"."""
    if row.kind == TriggerKind.SITUATION:
        return cut(row.cue, MAX_CUE)
    spec = spec_of(row)
    return describe(replace(spec, label=cut(spec.label, MAX_CUE)), tz, now)


def trigger_line(row: Trigger, tz: dt.tzinfo, now: dt.datetime) -> str:
    """One escaped line with an icon, for cards and lists."""
    icon = texts.TRG_SITUATION_ICON if row.kind == TriggerKind.SITUATION else texts.TRG_TIME_ICON
    return f"{icon} {html.escape(describe_trigger(row, tz, now))}"


def when_local(naive_utc: dt.datetime, tz: dt.tzinfo) -> str:
    """ "Thu 26 Nov 08:00" in the person's time zone."""
    local = aware(naive_utc).astimezone(tz)
    return f"{day_label(naive_utc, tz)} {local:%H:%M}"


def headline_of(reflection: Reflection) -> str:
    return cut(reflection.answer_what, MAX_HEADLINE) or texts.RECALL_NO_HEADLINE


def recall_card(
    reflection: Reflection,
    triggers: list[Trigger],
    tz: dt.tzinfo,
    now: dt.datetime,
    *,
    query: str | None = None,
    matches: int = 0,
) -> str:
    """The one /recall message: headline, paragraph, its triggers, when it was written."""
    lines = [
        trigger_line(t, tz, now)
        for t in triggers
        if t.status != TriggerStatus.DONE or t.kind == TriggerKind.SITUATION
    ]
    written = reflection.saved_at or reflection.created_at
    return texts.RECALL_CARD.format(
        headline=html.escape(headline_of(reflection)),
        paragraph=html.escape(cut(reflection.paragraph, MAX_PARAGRAPH)),
        triggers=("\n\n" + "\n".join(lines)) if lines else "",
        written=day_label(written, tz),
        matches=(
            texts.RECALL_MATCHES.format(count=matches, query=html.escape(cut(query, 60)))
            if query and matches > 1
            else ""
        ),
    )


def ping_text(
    reflection: Reflection | None, trigger: Trigger, tz: dt.tzinfo, now: dt.datetime
) -> str:
    """The time-trigger ping: headline first, the paragraph, then the trigger."""
    return texts.RECALL_PING.format(
        headline=html.escape(headline_of(reflection) if reflection else texts.RECALL_NO_HEADLINE),
        paragraph=html.escape(cut(reflection.paragraph if reflection else "", MAX_PARAGRAPH)),
        trigger=trigger_line(trigger, tz, now),
    )


def helped_row(recall_id: int, helped: bool | None) -> list[InlineKeyboardButton]:
    """ "It helped" / "Didn't help", the chosen one ticked."""
    labels = ((True, texts.RECALL_BUTTON_HELPED), (False, texts.RECALL_BUTTON_NOT_HELPED))
    return [
        InlineKeyboardButton(
            texts.RECALL_CHOSEN.format(label=label) if helped is value else label,
            callback_data=f"rc:helped:{recall_id}:{int(value)}",
        )
        for value, label in labels
    ]


def recall_keyboard(
    recall_id: int, older: int | None, newer: int | None, helped: bool | None
) -> InlineKeyboardMarkup:
    """Browse buttons (older/newer session) and the helped buttons."""
    nav = []
    if older is not None:
        nav.append(
            InlineKeyboardButton(
                texts.RECALL_BUTTON_OLDER, callback_data=f"rc:nav:{recall_id}:{older}"
            )
        )
    if newer is not None:
        nav.append(
            InlineKeyboardButton(
                texts.RECALL_BUTTON_NEWER, callback_data=f"rc:nav:{recall_id}:{newer}"
            )
        )
    rows = [nav] if nav else []
    rows.append(helped_row(recall_id, helped))
    return InlineKeyboardMarkup(rows)


def later_row(target: str, tonight: dt.time | None) -> list[InlineKeyboardButton]:
    """ "💤 20 min" / "💤 1 h" / "💤 Tonight 20:30" (the last only while tonight is ahead).

    Args:
        target: what is snoozed, `p:{recall id}` or `e:{YYYYMMDD}`.
        tonight: the person's evening time when it is still ahead today, else None.
    """
    row = [
        InlineKeyboardButton(texts.SNOOZE_BUTTON_20, callback_data=f"{SNOOZE_PREFIX}{target}:20"),
        InlineKeyboardButton(texts.SNOOZE_BUTTON_60, callback_data=f"{SNOOZE_PREFIX}{target}:60"),
    ]
    if tonight is not None:
        row.append(
            InlineKeyboardButton(
                texts.SNOOZE_BUTTON_TONIGHT.format(time=f"{tonight:%H:%M}"),
                callback_data=f"{SNOOZE_PREFIX}{target}:{SNOOZE_TONIGHT}",
            )
        )
    return row


def ping_keyboard(recall_id: int, tonight: dt.time | None = None) -> InlineKeyboardMarkup:
    """The ping's "I read it" (the helped buttons replace it) and its Later buttons."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.RECALL_BUTTON_READ, callback_data=f"rc:read:{recall_id}")],
            later_row(f"p:{recall_id}", tonight),
        ]
    )


def followup_keyboard(recall_id: int) -> InlineKeyboardMarkup:
    """ "It helped" / "Didn't help" / "Didn't get to it" under the follow-up question."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.RECALL_BUTTON_HELPED, callback_data=f"fu:{recall_id}:y"),
                InlineKeyboardButton(
                    texts.RECALL_BUTTON_NOT_HELPED, callback_data=f"fu:{recall_id}:n"
                ),
            ],
            [
                InlineKeyboardButton(
                    texts.RECALL_BUTTON_NOT_TRIED, callback_data=f"fu:{recall_id}:s"
                )
            ],
        ]
    )


def evening_keyboard(
    day: dt.date | None = None, tonight: dt.time | None = None
) -> InlineKeyboardMarkup:
    """The evening prompt's Start button (the three questions), and Later for the prompt
    of the local date `day` (no Later buttons without one)."""
    rows = [[InlineKeyboardButton(texts.BUTTON_START, callback_data=EVENING_START)]]
    if day is not None:
        rows.append(later_row(f"e:{day:%Y%m%d}", tonight))
    return InlineKeyboardMarkup(rows)


def back_at(moment: dt.datetime, tz: dt.tzinfo, now: dt.datetime) -> str:
    """ "at 15:40" today (the person's zone), else "on Thu 26 Nov at 08:00"."""
    local = moment.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return texts.SNOOZE_AT_TODAY.format(time=f"{local:%H:%M}")
    day = day_label(moment.astimezone(UTC).replace(tzinfo=None), tz)
    return texts.SNOOZE_AT_DAY.format(day=day, time=f"{local:%H:%M}")


def recall_key_keyboard() -> ReplyKeyboardMarkup:
    """The one-tap 🔁 Recall button under the message field, kept there (is_persistent)."""
    return ReplyKeyboardMarkup([[texts.RECALL_KEY]], resize_keyboard=True, is_persistent=True)


def recall_key_markup(on: bool) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """The keyboard when the person has the Recall button on, else its removal."""
    return recall_key_keyboard() if on else ReplyKeyboardRemove()


def _cue_cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CUE_CHARS else text[: CUE_CHARS - 1].rstrip() + "…"


def cue_text(captures: list[Capture], tz: dt.tzinfo) -> str | None:
    """What to show before the questions: the landed sentence, else the captures and marks.

    Returns:
        The cue, or None when nothing with words or no mark was captured.
    """
    landed = [c for c in captures if c.landed and c.text]
    if landed:
        return texts.CUE_LANDED.format(text=_cue_cut(landed[-1].text or ""))
    parts: list[str] = []
    worded = [c for c in captures if c.kind != CaptureKind.MARK and c.text and c.text.strip()]
    if worded:
        lines = "\n".join(texts.CUE_ITEM.format(text=_cue_cut(c.text or "")) for c in worded[-3:])
        parts.append(texts.CUE_CAPTURES.format(lines=lines))
    marks = [c for c in captures if c.kind == CaptureKind.MARK]
    if marks:
        stamps = []
        for mark in marks[-5:]:
            at = mark.created_at.replace(tzinfo=UTC).astimezone(tz)
            stamp = f"{at:%H:%M}"
            stamps.append(f"{stamp} {_cue_cut(mark.text)}" if mark.text else stamp)
        parts.append(texts.CUE_MARKS.format(count=len(marks), stamps=", ".join(stamps)))
    return "\n\n".join(parts) if parts else None


def digest_text(facts: DigestFacts, tz: dt.tzinfo, now: dt.datetime, day: dt.date) -> str | None:
    """The digest message (HTML), or None when nothing happened this week.

    Args:
        facts: what the week held.
        tz: the person's zone.
        now: aware send time.
        day: the local date the digest belongs to (the day before the session); one sent
            late, after local midnight, says the session is today, not tomorrow.
    """
    if facts.empty:
        return None
    late = now.astimezone(tz).date() > day
    parts = [texts.DIGEST_HEAD_TODAY if late else texts.DIGEST_HEAD]
    if facts.landed:
        parts.append(texts.DIGEST_LANDED.format(text=html.escape(cut(facts.landed[0], 500))))
    if facts.reflection is not None:
        parts.append(
            texts.DIGEST_PARAGRAPH.format(
                headline=html.escape(headline_of(facts.reflection)),
                paragraph=html.escape(cut(facts.reflection.paragraph, 1500)),
            )
        )
    recalls = facts.recalls
    if recalls:
        parts.append(
            texts.DIGEST_RECALLS.format(
                count=len(recalls),
                times="time" if len(recalls) == 1 else "times",
                helped=sum(r.helped is True for r in recalls),
                not_helped=sum(r.helped is False for r in recalls),
            )
        )
    elif facts.reflection is not None:
        parts.append(texts.DIGEST_NO_RECALLS)
    said = [r for r in recalls if r.outcome][-MAX_OUTCOMES:]
    if said:
        lines = "\n".join(
            texts.DIGEST_OUTCOME_LINE.format(
                day=day_label(r.answered_at or r.created_at, tz),
                text=html.escape(cut(r.outcome, 200)),
            )
            for r in said
        )
        parts.append(texts.DIGEST_OUTCOMES.format(lines=lines))
    parts.append(texts.DIGEST_FOOT)
    return "\n\n".join(parts)
