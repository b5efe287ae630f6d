"""One model of time: storage instants, the person's zone, weekly occurrences, grace windows.

Conventions every caller relies on:

* Columns store naive UTC (``utcnow``, ``naive``); code computes with aware UTC (``aware``).
* A person's zone is ``zone_of(user)``: their stored zone, UTC if it stopped resolving.
* A local wall time becomes an instant with ``localize``: an ambiguous time (fall-back) is
  its first occurrence (fold=0); a time that does not exist (spring-forward gap) is the end
  of the gap, the first valid instant after it (02:30 Berlin on 2026-03-29 is 03:00 CEST).
* Recurrence is a set of local weekdays at a local time (``Weekly``), enumerated by
  ``dateutil.rrule`` over local dates and localized day by day, so DST never shifts it.
* A job missed while the bot was down is caught up only within its grace window (below).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dateutil.rrule import DAILY, rrule

from bot.zones import load_zone
from storage.clock import utcnow

if TYPE_CHECKING:
    from storage.models import User

__all__ = [
    "DIGEST_GRACE",
    "EVENING_CATCH_UP",
    "FOLLOWUP_GRACE",
    "SNOOZE_GRACE",
    "TRIGGER_GRACE",
    "UTC",
    "Weekly",
    "aware",
    "last_weekly",
    "local_day_bounds",
    "localize",
    "naive",
    "next_weekly",
    "require_aware",
    "utcnow",
    "zone_of",
]

UTC = dt.UTC

# How late a job missed while the bot was down may still run (later, it is skipped).
EVENING_CATCH_UP = dt.timedelta(hours=3)  # the evening prompt, once, at startup
TRIGGER_GRACE = dt.timedelta(hours=6)  # a time trigger's ping; older ones are counted missed
DIGEST_GRACE = dt.timedelta(hours=6)  # the digest the day before therapy
FOLLOWUP_GRACE = dt.timedelta(hours=12)  # "How did it go?" after a recall
SNOOZE_GRACE = dt.timedelta(hours=3)  # a snoozed ping or evening prompt; later ones are dropped


# ------------------------------------------------------------------ storage instants


def aware(naive_utc: dt.datetime) -> dt.datetime:
    """A stored naive-UTC timestamp as an aware UTC datetime."""
    return naive_utc.replace(tzinfo=UTC)


def naive(moment: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive UTC the columns store."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def require_aware(moment: dt.datetime) -> None:
    """Raise ValueError for a naive datetime: an instant without a zone means nothing here."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("A time zone-aware datetime is needed here.")


def zone_of(user: User) -> dt.tzinfo:
    """The person's time zone (falls back to UTC if a stored name stopped resolving)."""
    try:
        return load_zone(user.timezone)
    except ValueError:
        return UTC


# ------------------------------------------------------------------ wall clock -> instant


def _offset_at(timestamp: int, tz: dt.tzinfo) -> dt.timedelta | None:
    return dt.datetime.fromtimestamp(timestamp, UTC).astimezone(tz).utcoffset()


def _gap_end(wall: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The transition instant (UTC) ending the DST gap that swallows ``wall``."""
    # fold=1 reads the wall time with the new offset (an instant before the jump), fold=0 with
    # the old one (an instant after it); the jump lies between, found to the second.
    lo = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(wall.replace(tzinfo=tz, fold=0).timestamp())
    target = _offset_at(hi, tz)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(mid, tz) == target:
            hi = mid
        else:
            lo = mid
    return dt.datetime.fromtimestamp(hi, UTC)


def localize(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant of a local wall time: fold=0 when ambiguous, gap end when missing."""
    wall = dt.datetime.combine(day, at.replace(tzinfo=None))
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    return _gap_end(wall, tz)


def local_day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants of local midnight and the next one (23 h or 25 h on DST days)."""
    return localize(day, dt.time(0), tz), localize(day + dt.timedelta(days=1), dt.time(0), tz)


# ------------------------------------------------------------------ occurrences


@dataclass(frozen=True)
class Weekly:
    """Local ``days`` (0 = Monday) at local time ``at`` in ``tz``: every week, across DST."""

    days: tuple[int, ...]
    at: dt.time
    tz: dt.tzinfo

    def dates(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """The local dates from ``first`` to ``last`` (inclusive) that fall on ``days``."""
        days = tuple(d for d in self.days if 0 <= d <= 6)  # a stored list may hold anything
        if not days:
            return []
        start, until = (dt.datetime.combine(d, dt.time(0)) for d in (first, last))
        return [d.date() for d in rrule(DAILY, byweekday=days, dtstart=start, until=until)]

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first occurrence (aware UTC) strictly after ``after``; None without days."""
        require_aware(after)
        today = after.astimezone(self.tz).date()
        # a local date one day either side of the UTC date covers every offset on Earth
        for day in self.dates(today - dt.timedelta(days=1), today + dt.timedelta(days=8)):
            candidate = localize(day, self.at, self.tz)
            if candidate > after:
                return candidate
        return None

    def last_until(self, moment: dt.datetime) -> dt.datetime | None:
        """The latest occurrence (aware UTC) at or before ``moment``; None without days."""
        require_aware(moment)
        today = moment.astimezone(self.tz).date()
        days = self.dates(today - dt.timedelta(days=8), today + dt.timedelta(days=1))
        for day in reversed(days):
            candidate = localize(day, self.at, self.tz)
            if candidate <= moment:
                return candidate
        return None


def _weekly(weekday: int, at: dt.time, tz: dt.tzinfo) -> Weekly:
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    return Weekly((weekday,), at, tz)


def next_weekly(weekday: int, at: dt.time, tz: dt.tzinfo, after: dt.datetime) -> dt.datetime:
    """Next UTC instant strictly after ``after`` on ``weekday`` at ``at`` local time."""
    found = _weekly(weekday, at, tz).next_after(after)
    if found is None:  # pragma: no cover - a weekday always comes round within 8 days
        raise ValueError("no occurrence found")
    return found


def last_weekly(weekday: int, at: dt.time, tz: dt.tzinfo, moment: dt.datetime) -> dt.datetime:
    """Latest UTC instant at or before ``moment`` on ``weekday`` at ``at`` local time."""
    found = _weekly(weekday, at, tz).last_until(moment)
    if found is None:  # pragma: no cover - a weekday always came round within 8 days
        raise ValueError("no occurrence found")
    return found
