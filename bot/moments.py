"""A time moment once read: what it is (``TimeTrigger``), when it fires next, how it reads back.

``TimeTrigger.weekdays`` lists the days a recurring trigger fires on (daily = all seven,
weekdays = Mon-Fri); it is empty for a once trigger. Reading one from what a person typed is
bot/timespec.py; the DST rules of its instants are bot/clock.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bot.clock import Weekly, require_aware
from bot.texts import (
    DAY_NAMES,
    MOMENT_EVERY,
    MOMENT_EVERY_DAY,
    MOMENT_EVERY_WEEKDAY,
    MOMENT_LABEL,
    MOMENT_ONCE,
    MONTH_ABBR,
)
from bot.zones import zone_label

UTC = dt.UTC

Kind = Literal["once", "weekly", "daily", "weekdays"]
TzInfo = dt.tzinfo

ALL_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
WORK_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class TimeTrigger:
    """A parsed time moment; ``once_at`` is aware (in the person's zone) only for once."""

    kind: Kind
    weekdays: tuple[int, ...]
    at: dt.time
    once_at: dt.datetime | None = None
    label: str = ""


def next_fire(trigger: TimeTrigger, after: dt.datetime, tz: TzInfo) -> dt.datetime | None:
    """Next UTC instant strictly after ``after`` when the trigger fires; None once it is spent."""
    require_aware(after)
    if trigger.kind == "once":
        if trigger.once_at is None:
            return None
        once = trigger.once_at.astimezone(UTC)
        return once if once > after else None
    days = trigger.weekdays or (ALL_DAYS if trigger.kind == "daily" else WORK_DAYS)
    return Weekly(days, trigger.at, tz).next_after(after)


def _join_days(days: tuple[int, ...]) -> str:
    """ "Thursday" for one day, "Mon, Wed and Fri" for several."""
    if len(days) == 1:
        return DAY_NAMES[days[0]]
    short = [DAY_NAMES[d][:3] for d in days]
    return ", ".join(short[:-1]) + " and " + short[-1]


def describe(trigger: TimeTrigger, tz: TzInfo, now: dt.datetime) -> str:
    """Plain words to confirm a trigger: "every weekday at 08:30 (Berlin time)"."""
    place = zone_label(tz)
    label = MOMENT_LABEL.format(label=trigger.label) if trigger.label else ""
    if trigger.kind == "once" and trigger.once_at is not None:
        local = trigger.once_at.astimezone(tz)
        year = "" if local.year == now.astimezone(tz).year else f" {local.year}"
        day = f"{DAY_NAMES[local.weekday()]} {local.day} {MONTH_ABBR[local.month - 1]}{year}"
        return MOMENT_ONCE.format(day=day, time=f"{local:%H:%M}", place=place, label=label)
    if trigger.kind == "daily":
        days = MOMENT_EVERY_DAY
    elif trigger.kind == "weekdays":
        days = MOMENT_EVERY_WEEKDAY
    else:
        days = _join_days(trigger.weekdays)
    return MOMENT_EVERY.format(days=days, time=f"{trigger.at:%H:%M}", place=place, label=label)
