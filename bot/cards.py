"""How a paragraph looks when it comes back: the /recall card, the ping, trigger descriptions.

Pure formatting shared by the recall handlers and the trigger and follow-up jobs. Cards are
HTML (parse_mode="HTML"); everything the person wrote is escaped with `html.escape`.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.timespec import DAY_NAMES, TimeTrigger, describe
from storage.models import Reflection, Trigger, TriggerKind, TriggerStatus

UTC = dt.UTC
MAX_HEADLINE = 300
MAX_PARAGRAPH = 3000
MAX_CUE = 200


def cut(text: str | None, limit: int) -> str:
    """The text, shortened to `limit` characters with an ellipsis."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def aware(naive_utc: dt.datetime) -> dt.datetime:
    """A stored naive-UTC timestamp as an aware UTC datetime."""
    return naive_utc.replace(tzinfo=UTC)


def naive(moment: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive UTC the columns store."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def day_label(naive_utc: dt.datetime, tz: dt.tzinfo) -> str:
    """ "Tue 24 Nov" in the person's time zone."""
    local = aware(naive_utc).astimezone(tz)
    return f"{DAY_NAMES[local.weekday()][:3]} {local.day} {local:%b}"


def spec_of(row: Trigger) -> TimeTrigger:
    """The timespec view of a stored time trigger."""
    days = tuple(int(d) for d in (row.weekdays or "").split(",") if d.strip().isdigit())
    return TimeTrigger(
        kind=row.recurrence or "once",  # type: ignore[arg-type]
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


def ping_keyboard(recall_id: int) -> InlineKeyboardMarkup:
    """The ping's one button; after it is pressed the helped buttons replace it."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.RECALL_BUTTON_READ, callback_data=f"rc:read:{recall_id}")]]
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
