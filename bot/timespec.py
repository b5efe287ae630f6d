"""Pure time logic: time zones, therapy day, trigger phrases and the next instant to fire.

No Telegram and no database here, so every rule about wall clocks and DST is tested in one
place. Conventions:

* A bare weekday with a time ("thu 08:00") is a **once** trigger on the coming Thursday (today
  if that time is still ahead). It repeats only with "every"/"each"/"weekly", a plural
  ("thursdays") or several days ("mon, wed 7:15", "mon-fri 9:00").
* ``TimeTrigger.weekdays`` lists the days a recurring trigger fires on (daily = all seven,
  weekdays = Mon-Fri); it is empty for a once trigger.
* A local time that does not exist (spring-forward gap) fires at the end of the gap, the first
  valid instant after it (02:30 Berlin on 2026-03-29 fires at 03:00 CEST). An ambiguous local
  time (fall-back) fires once, at its first occurrence (fold=0).
* Every parser raises only ``ValueError``, with a message fit to show the person.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import dateparser

UTC = dt.UTC

TIMEZONE_HELP = (
    "I don't know that time zone. Try a city like Berlin, a name like Europe/Berlin, "
    "or an offset like +2."
)
TRIGGER_HELP = (
    "I didn't understand that time. Try: thu 08:00 morning walk, tomorrow 7pm, "
    "or every weekday 8:30."
)
PASSED_HELP = (
    "That time has already passed. Try: thu 08:00 morning walk, tomorrow 7pm, "
    "or every weekday 8:30."
)
WEEKDAY_TIME_HELP = "I didn't catch that. Send a day and a time, like tue 17:00."
CLOCK_HELP = "I didn't catch that time. Send it like 20:30 or 8pm."

MAX_INPUT = 200  # longer text is cut before parsing: nobody types a time that long
MAX_AHEAD = dt.timedelta(days=5 * 366)  # a once trigger further out is almost surely a typo

Kind = Literal["once", "weekly", "daily", "weekdays"]
TzInfo = dt.tzinfo

ALL_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
WORK_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_FLAGS = re.IGNORECASE | re.ASCII


@dataclass(frozen=True)
class TimeTrigger:
    """A parsed time moment; ``once_at`` is aware (in the person's zone) only for once."""

    kind: Kind
    weekdays: tuple[int, ...]
    at: dt.time
    once_at: dt.datetime | None = None
    label: str = ""


# ---------------------------------------------------------------------------- time zones

_OFFSET_RE = re.compile(
    r"(?:utc|gmt)?\s*(?P<sign>[+-])\s*(?P<h>[0-9]{1,2})(?::?(?P<m>[0-9]{2}))?", _FLAGS
)
_UTC_WORDS = frozenset({"utc", "gmt", "z", "zulu", "universal"})
_PRIMARY_REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})
# Big cities people name that have no zone of their own in the tz database.
_CITY_ALIASES = {
    "san_francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "munich": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "geneva": "Europe/Zurich",
    "st_petersburg": "Europe/Moscow",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new_delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "rio_de_janeiro": "America/Sao_Paulo",
    "rio": "America/Sao_Paulo",
}


def _fold_text(text: str) -> str:
    """Lower-case, accent-free, with spaces/hyphens as underscores: "São Paulo" -> sao_paulo."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_-]+", "_", bare.casefold().strip())


@lru_cache(maxsize=1)
def _zone_indexes() -> tuple[dict[str, str], dict[str, str]]:
    """Map folded IANA keys and folded city names (last key part) to the stored key."""
    keys = sorted(k for k in available_timezones() if k not in _NOT_ZONES)
    by_key = {_fold_text(k): k for k in keys}
    by_city: dict[str, str] = {}
    cities = [k for k in keys if "/" in k and not k.startswith("Etc/")]
    # Primary regions first, then the deeper (canonical) name: America/Argentina/Buenos_Aires.
    cities.sort(key=lambda k: (k.split("/")[0] not in _PRIMARY_REGIONS, -k.count("/"), k))
    for key in cities:
        by_city.setdefault(_fold_text(key.rsplit("/", 1)[-1]), key)
    for city, key in _CITY_ALIASES.items():
        by_city.setdefault(city, key)
    return by_key, by_city


def _fixed_offset(minutes: int) -> ZoneInfo | dt.timezone:
    """A whole-hour offset as an Etc/GMT zone (sign inverted in IANA); others as timezone."""
    if minutes == 0:
        return ZoneInfo("UTC")
    if minutes % 60 == 0:
        hours = minutes // 60
        return ZoneInfo(f"Etc/GMT{-hours:+d}")
    return dt.timezone(dt.timedelta(minutes=minutes))


def _parse_offset(text: str) -> ZoneInfo | dt.timezone | None:
    """Read "+2", "UTC+5:30", "gmt-3", "+05:30"; None if it is not an offset at all."""
    m = _OFFSET_RE.fullmatch(text.replace("\u2212", "-"))
    if m is None:
        return None
    minutes = int(m["m"] or 0)
    total = (int(m["h"]) * 60 + minutes) * (-1 if m["sign"] == "-" else 1)
    if minutes >= 60 or not -12 * 60 <= total <= 14 * 60:  # the range used on Earth
        raise ValueError(TIMEZONE_HELP)
    return _fixed_offset(total)


def parse_timezone(text: str) -> ZoneInfo | dt.timezone:
    """Turn what a person typed (city, IANA name, offset) into a tzinfo, or raise ValueError."""
    raw = " ".join(text[:100].split())
    if not raw:
        raise ValueError(TIMEZONE_HELP)
    if (fixed := _parse_offset(raw)) is not None:
        return fixed
    folded = _fold_text(raw)
    if folded in _UTC_WORDS:
        return ZoneInfo("UTC")
    by_key, by_city = _zone_indexes()
    key = by_key.get(folded) or by_city.get(folded)
    if key is None:
        raise ValueError(TIMEZONE_HELP)
    return ZoneInfo(key)


def _format_offset(offset: dt.timedelta) -> str:
    """Render an offset as "+05:30" / "-03:00"."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def zone_name(tz: TzInfo) -> str:
    """The string to store for a zone: the IANA key, or "+05:30" for a bare fixed offset."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    offset = tz.utcoffset(None)
    if offset is None:
        raise ValueError(TIMEZONE_HELP)
    return "UTC" if not offset else _format_offset(offset)


def load_zone(name: str) -> ZoneInfo | dt.timezone:
    """Reverse of ``zone_name``: rebuild the tzinfo from the stored string."""
    if (fixed := _parse_offset(name.strip())) is not None:
        return fixed
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(TIMEZONE_HELP) from exc


def zone_label(tz: TzInfo) -> str:
    """A short human name: "New York", "UTC", "UTC+05:30"."""
    name = zone_name(tz)
    if name in {"UTC", "Etc/UTC", "GMT", "Etc/GMT"}:
        return "UTC"
    if name.startswith("Etc/GMT"):
        offset = dt.datetime(2000, 1, 1, tzinfo=tz).utcoffset() or dt.timedelta(0)
        return "UTC" + _format_offset(offset)
    if name[0] in "+-":
        return "UTC" + name
    return name.rsplit("/", 1)[-1].replace("_", " ")


# ----------------------------------------------------------------------- words and clocks

_WEEKDAY_WORDS = {
    **dict.fromkeys(("mon", "monday"), 0),
    **dict.fromkeys(("tue", "tues", "tuesday"), 1),
    **dict.fromkeys(("wed", "weds", "wednesday"), 2),
    **dict.fromkeys(("thu", "thur", "thurs", "thursday"), 3),
    **dict.fromkeys(("fri", "friday"), 4),
    **dict.fromkeys(("sat", "saturday"), 5),
    **dict.fromkeys(("sun", "sunday"), 6),
}
_MONTH_WORDS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_WORD_RE = re.compile(r"\s*(?P<w>[a-z]+)\.?(?![a-z0-9])", _FLAGS)
_CLOCK_RE = re.compile(
    r"\s*(?:,\s*)?(?:(?:at|@)\s*)?"
    r"(?:(?P<word>noon|midday|midnight)"
    r"|(?P<h>[0-9]{1,2})(?:[:.h](?P<m>[0-9]{2}))?\s*(?P<ap>a\.?m\.?|p\.?m\.?)?)"
    r"(?![a-z0-9:])",
    _FLAGS,
)
_CLOCK_WORDS = {"noon": dt.time(12), "midday": dt.time(12), "midnight": dt.time(0)}


def _clean(text: str) -> str:
    """Cut to MAX_INPUT, turn control characters into spaces and collapse whitespace."""
    cut = text[:MAX_INPUT]
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in cut).split())


class _Scanner:
    """A cursor over the cleaned text; patterns match at the cursor and advance it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        m = pattern.match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
        return m

    def take_word(self, words: frozenset[str]) -> str | None:
        """Consume the next word if it is one of ``words``; return it lower-cased."""
        m = _WORD_RE.match(self.text, self.pos)
        if m is None or m["w"].lower() not in words:
            return None
        self.pos = m.end()
        return m["w"].lower()

    def at_end(self) -> bool:
        return not self.text[self.pos :].strip()

    def rest(self) -> str:
        return self.text[self.pos :]


def _clock_from_match(m: re.Match[str], *, bare_ok: bool) -> dt.time | None:
    """Validate a clock match; None if it is not a usable time of day."""
    if m["word"]:
        return _CLOCK_WORDS[m["word"].lower()]
    hour, minute = int(m["h"]), int(m["m"] or 0)
    ap = (m["ap"] or "").lower().replace(".", "")
    if not (bare_ok or m["m"] or ap) or minute > 59:
        return None
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap == "pm" else 0)
    return dt.time(hour, minute) if hour <= 23 else None


def _take_clock(sc: _Scanner, *, bare_ok: bool) -> dt.time | None:
    """Consume a time of day at the cursor (leaves the cursor alone when there is none)."""
    start = sc.pos
    m = sc.take(_CLOCK_RE)
    clock = None if m is None else _clock_from_match(m, bare_ok=bare_ok)
    if clock is None:
        sc.pos = start
    return clock


def parse_clock(text: str) -> dt.time:
    """Read a time of day: "20:30", "8pm", "8.30pm", "noon" (callers handle "off")."""
    sc = _Scanner(_clean(text))
    clock = _take_clock(sc, bare_ok=True)
    if clock is None or not sc.at_end():
        raise ValueError(CLOCK_HELP)
    return clock


def _take_weekday(sc: _Scanner) -> tuple[int, bool] | None:
    """Consume one weekday name; return (day, plural) where plural means "mondays"."""
    m = _WORD_RE.match(sc.text, sc.pos)
    if m is None:
        return None
    word = m["w"].lower()
    plural = word not in _WEEKDAY_WORDS and word.endswith("days") and word[:-1] in _WEEKDAY_WORDS
    day = _WEEKDAY_WORDS.get(word[:-1] if plural else word)
    if day is None:
        return None
    sc.pos = m.end()
    return day, plural


def parse_weekday_time(text: str) -> tuple[int, dt.time]:
    """Read a therapy slot like "tue 17:00", "Tuesday 5pm" or "mon 9" (0 = Monday)."""
    sc = _Scanner(_clean(text))
    sc.take_word(frozenset({"every", "each", "on"}))
    day = _take_weekday(sc)
    clock = _take_clock(sc, bare_ok=True) if day else None
    if day is None or clock is None or not sc.at_end():
        raise ValueError(WEEKDAY_TIME_HELP)
    return day[0], clock


# ---------------------------------------------------------------- wall clock -> instant


def _gap_end(naive: dt.datetime, tz: TzInfo) -> dt.datetime:
    """The transition instant (UTC) ending the DST gap that swallows ``naive``."""
    # fold=1 reads the wall time with the new offset (an instant before the jump), fold=0 with
    # the old one (an instant after it); the jump lies between, found to the second.
    lo = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    target = _offset_at(hi, tz)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(mid, tz) == target:
            hi = mid
        else:
            lo = mid
    return dt.datetime.fromtimestamp(hi, UTC)


def _offset_at(timestamp: int, tz: TzInfo) -> dt.timedelta | None:
    return dt.datetime.fromtimestamp(timestamp, UTC).astimezone(tz).utcoffset()


def localize(day: dt.date, at: dt.time, tz: TzInfo) -> dt.datetime:
    """The UTC instant of a local wall time: fold=0 when ambiguous, gap end when missing."""
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    instant = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    return _gap_end(naive, tz)


def _require_aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("A time zone-aware datetime is needed here.")


def _next_on_days(
    days: tuple[int, ...], at: dt.time, tz: TzInfo, after: dt.datetime
) -> dt.datetime | None:
    """First instant strictly after ``after`` at ``at`` local time on one of ``days``."""
    start = after.astimezone(tz).date() - dt.timedelta(days=1)
    for offset in range(10):
        day = start + dt.timedelta(days=offset)
        if day.weekday() in days:
            candidate = localize(day, at, tz)
            if candidate > after:
                return candidate
    return None


def next_fire(trigger: TimeTrigger, after: dt.datetime, tz: TzInfo) -> dt.datetime | None:
    """Next UTC instant strictly after ``after`` when the trigger fires; None once it is spent."""
    _require_aware(after)
    if trigger.kind == "once":
        if trigger.once_at is None:
            return None
        once = trigger.once_at.astimezone(UTC)
        return once if once > after else None
    days = trigger.weekdays or (ALL_DAYS if trigger.kind == "daily" else WORK_DAYS)
    return _next_on_days(days, trigger.at, tz, after)


def next_weekly(weekday: int, at: dt.time, tz: TzInfo, after: dt.datetime) -> dt.datetime:
    """Next UTC instant strictly after ``after`` on ``weekday`` at ``at`` local time."""
    _require_aware(after)
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    found = _next_on_days((weekday,), at, tz, after)
    assert found is not None  # a weekday always comes round within 8 days
    return found


def local_day_bounds(day: dt.date, tz: TzInfo) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants of local midnight and the next one (23 h or 25 h on DST days)."""
    return localize(day, dt.time(0), tz), localize(day + dt.timedelta(days=1), dt.time(0), tz)


# ---------------------------------------------------------------------- trigger phrases


@dataclass(frozen=True)
class _When:
    """What the day part of a phrase said, before the clock is known."""

    kind: Kind
    days: tuple[int, ...] = ()
    date: dt.date | None = None
    delta: dt.timedelta | None = None
    evening: bool = False  # "tonight 9" means 21:00


_EVERY = frozenset({"every", "each"})
_EVERY_UNITS = {
    **dict.fromkeys(("day", "days"), ALL_DAYS),
    **dict.fromkeys(("weekday", "weekdays"), WORK_DAYS),
    **dict.fromkeys(("weekend", "weekends"), (5, 6)),
}
_DAY_SEP_RE = re.compile(r"\s*(?:,|&|\+|/|and\b)\s*", _FLAGS)
_RANGE_RE = re.compile(r"\s*(?:-|\u2013|to\b|through\b|thru\b)\s*", _FLAGS)
_ISO_DATE_RE = re.compile(r"\s*(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})T?", _FLAGS)
_DAY_MONTH_RE = re.compile(
    r"\s*(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?\s*(?:of\s+)?(?P<mon>[a-z]+)\.?"
    r"(?:,?\s+(?P<y>[0-9]{4}))?(?![a-z0-9:])",
    _FLAGS,
)
_MONTH_DAY_RE = re.compile(
    r"\s*(?P<mon>[a-z]+)\.?\s+(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?"
    r"(?:,?\s+(?P<y>[0-9]{4}))?(?![a-z0-9:.])",
    _FLAGS,
)
_DELTA_PART = (
    r"(?P<n{i}>[0-9]{{1,5}}(?:\.[0-9]{{1,2}})?|an?|one)\s*"
    r"(?P<u{i}>minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)(?![a-z])"
)
_DELTA_RE = re.compile(
    r"\s*in\s+" + _DELTA_PART.format(i=1) + r"(?:\s*(?:and\s+)?" + _DELTA_PART.format(i=2) + ")?",
    _FLAGS,
)
_COMMA_RE = re.compile(r"\s*,")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}


def _take_day_list(sc: _Scanner) -> tuple[tuple[int, ...], bool] | None:
    """Consume "thu", "mon, wed and fri", "mon-fri"; return (days, any plural)."""
    first = _take_weekday(sc)
    if first is None:
        return None
    days, plural = [first[0]], first[1]
    while True:
        mark = sc.pos
        if sc.take(_RANGE_RE) and (end := _take_weekday(sc)):
            begin = days[-1]
            days.extend((begin + i) % 7 for i in range(1, (end[0] - begin) % 7 + 1))
            plural = plural or end[1]
            continue
        sc.pos = mark
        if sc.take(_DAY_SEP_RE) and (nxt := _take_weekday(sc)):
            days.append(nxt[0])
            plural = plural or nxt[1]
            continue
        sc.pos = mark
        return tuple(sorted(set(days))), plural


def _recurring(days: tuple[int, ...]) -> _When:
    """Name a set of days: all seven is daily, Mon-Fri is weekdays, the rest weekly."""
    if days == ALL_DAYS:
        return _When("daily", ALL_DAYS)
    if days == WORK_DAYS:
        return _When("weekdays", WORK_DAYS)
    return _When("weekly", days)


def _take_recurrence(sc: _Scanner) -> _When | None:
    """Consume "every thursday", "daily", "weekdays", "weekly mon"...; error on "every blursday"."""
    word = sc.take_word(_EVERY | {"daily", "everyday", "weekly", "weekdays", "weekends"})
    if word is None:
        return None
    if word in {"daily", "everyday"}:
        return _recurring(ALL_DAYS)
    if word in {"weekdays", "weekends"}:
        return _recurring(WORK_DAYS if word == "weekdays" else (5, 6))
    if word in _EVERY and (unit := sc.take_word(frozenset(_EVERY_UNITS))):
        return _recurring(_EVERY_UNITS[unit])
    listed = _take_day_list(sc)
    if listed is None:
        raise ValueError(TRIGGER_HELP)
    return _recurring(listed[0])


def _resolve_date(day: int, month: int, year: str | None, today: dt.date) -> dt.date:
    """Build a calendar date; without a year, the next such date from today."""
    try:
        if year is not None:
            return dt.date(int(year), month, day)
        candidate = dt.date(today.year, month, day)
        if candidate < today:
            candidate = dt.date(today.year + 1, month, day)
    except ValueError as exc:  # 31 Feb, year 0, ...
        raise ValueError(TRIGGER_HELP) from exc
    return candidate


def _take_date(sc: _Scanner, today: dt.date) -> dt.date | None:
    """Consume "2026-11-26", "26 nov", "26th of November 2026", "nov 26"."""
    start = sc.pos
    if m := sc.take(_ISO_DATE_RE):
        return _resolve_date(int(m["d"]), int(m["mo"]), m["y"], today)
    for pattern in (_DAY_MONTH_RE, _MONTH_DAY_RE):
        m = sc.take(pattern)
        if m is not None and (month := _MONTH_WORDS.get(m["mon"].lower())):
            return _resolve_date(int(m["d"]), month, m["y"], today)
        sc.pos = start
    return None


def _delta_from(m: re.Match[str]) -> dt.timedelta:
    """Sum the one or two "<n> <unit>" parts of an "in ..." phrase."""
    minutes = 0.0
    for i in (1, 2):
        amount, unit = m[f"n{i}"], m[f"u{i}"]
        if amount is None:
            continue
        number = 1.0 if amount.lower() in {"a", "an", "one"} else float(amount)
        minutes += number * _UNIT_MINUTES[unit[0].lower()]
    if not 0 < minutes <= MAX_AHEAD.total_seconds() / 60:
        raise ValueError(TRIGGER_HELP)
    return dt.timedelta(minutes=minutes)


def _take_when(sc: _Scanner, today: dt.date) -> _When | None:
    """Consume the day part of a phrase, if there is one ("on" in front is allowed)."""
    mark = sc.pos
    sc.take_word(frozenset({"on"}))
    when = _take_day_part(sc, today)
    if when is None:
        sc.pos = mark
    return when


def _take_day_part(sc: _Scanner, today: dt.date) -> _When | None:
    """Try each way of naming a day, most specific first."""
    if (recurring := _take_recurrence(sc)) is not None:
        return recurring
    if word := sc.take_word(frozenset({"today", "tonight", "tomorrow", "tmrw", "tmr"})):
        offset = 0 if word in {"today", "tonight"} else 1
        return _When("once", date=today + dt.timedelta(days=offset), evening=word == "tonight")
    if m := sc.take(_DELTA_RE):
        return _When("once", delta=_delta_from(m))
    if (date := _take_date(sc, today)) is not None:
        return _When("once", date=date)
    sc.take_word(frozenset({"this", "coming"}))
    listed = _take_day_list(sc)
    if listed is None:
        return None
    days, plural = listed
    if plural or len(days) > 1:
        return _recurring(days)
    sc.take(_COMMA_RE)
    if (date := _take_date(sc, today)) is not None:  # "Thursday 26 Nov, 08:00"
        return _When("once", date=date)
    return _When("once", days=days)


def _label(rest: str) -> str:
    """What remains after the time: strip joining punctuation ("8:00, morning walk")."""
    return rest.strip().lstrip(",;:-\u2013\u2014").strip()


def _once(
    local: dt.datetime, now: dt.datetime, tz: TzInfo, label: str, *, roll: int = 0
) -> TimeTrigger:
    """A once trigger at ``local`` (wall date + time); ``roll`` days are added while past."""
    instant = localize(local.date(), local.time(), tz)
    while roll and instant <= now:
        local += dt.timedelta(days=roll)
        instant = localize(local.date(), local.time(), tz)
    if instant <= now:
        raise ValueError(PASSED_HELP)
    if instant - now > MAX_AHEAD:
        raise ValueError(TRIGGER_HELP)
    when = instant.astimezone(tz)
    return TimeTrigger("once", (), local.time(), when, label)


def _build(
    when: _When | None, clock: dt.time | None, sc: _Scanner, now: dt.datetime, tz: TzInfo
) -> TimeTrigger:
    """Combine the day part and the clock into a trigger."""
    label = _label(sc.rest())
    local_now = now.astimezone(tz)
    if when is not None and when.delta is not None:
        fire = (now.astimezone(UTC) + when.delta).replace(microsecond=0)
        if clock is not None:
            if when.delta < dt.timedelta(days=1):
                raise ValueError(TRIGGER_HELP)
            local = dt.datetime.combine(fire.astimezone(tz).date(), clock)
            return _once(local, now, tz, label)
        return TimeTrigger("once", (), fire.astimezone(tz).time(), fire.astimezone(tz), label)
    if clock is None:
        raise ValueError(TRIGGER_HELP)
    if when is None:
        return _once(dt.datetime.combine(local_now.date(), clock), now, tz, label, roll=1)
    if when.kind != "once":
        return TimeTrigger(when.kind, when.days, clock, None, label)
    if when.date is not None:
        return _once(dt.datetime.combine(when.date, clock), now, tz, label)
    ahead = (when.days[0] - local_now.weekday()) % 7
    day = local_now.date() + dt.timedelta(days=ahead)
    return _once(dt.datetime.combine(day, clock), now, tz, label, roll=7)


def _parse_own(text: str, now: dt.datetime, tz: TzInfo) -> TimeTrigger | None:
    """The common phrasings, by small regexes; None when the phrase is not one of them."""
    sc = _Scanner(text)
    today = now.astimezone(tz).date()
    when = _take_when(sc, today)
    if when is not None:
        needs_clock = when.delta is None or when.delta >= dt.timedelta(days=1)
        clock = _take_clock(sc, bare_ok=True) if needs_clock else None
        if clock is not None and when.evening and 1 <= clock.hour <= 11:
            clock = clock.replace(hour=clock.hour + 12)
        return _build(when, clock, sc, now, tz)
    clock = _take_clock(sc, bare_ok=False)
    if clock is None:
        return None
    return _build(_take_when(sc, today), clock, sc, now, tz)


_DATEPARSER_HINT_RE = re.compile(
    r"\b(?:next|this|coming|noon|midnight|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"|[0-9]{1,2}[./][0-9]{1,2}",
    _FLAGS,
)
_EVERY_START_RE = re.compile(r"\s*(?:every|each|daily|weekly|weekdays|weekends)\b", _FLAGS)
_HAS_CLOCK_RE = re.compile(r"[0-9]|noon|midnight|midday", _FLAGS)


def _dateparse(phrase: str, now: dt.datetime, tz: TzInfo) -> dt.datetime | None:
    """Ask dateparser for an absolute moment; any internal failure counts as "no"."""
    settings = {
        "TIMEZONE": zone_name(tz),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.astimezone(tz).replace(tzinfo=None),
    }
    try:
        found = dateparser.parse(phrase, languages=["en"], settings=settings)
    except Exception:  # dateparser has raised odd errors on odd input; it is only a fallback
        return None
    if found is None or found.tzinfo is None:
        return None
    return found


def _parse_free(text: str, now: dt.datetime, tz: TzInfo) -> TimeTrigger | None:
    """Free-form absolute dates via dateparser; the longest leading phrase wins, rest is label."""
    if not _DATEPARSER_HINT_RE.search(text) or _EVERY_START_RE.match(text):
        return None
    words = text.split(" ")
    for n in range(min(len(words), 6), 0, -1):
        phrase = " ".join(words[:n]).rstrip(",;:")
        if not _HAS_CLOCK_RE.search(phrase):
            continue
        found = _dateparse(phrase, now, tz)
        if found is not None:
            local = found.astimezone(tz).replace(tzinfo=None, microsecond=0)
            return _once(local, now, tz, _label(" ".join(words[n:])))
    return None


def parse_time_trigger(text: str, now: dt.datetime, tz: TzInfo) -> TimeTrigger:
    """Read a trigger phrase ("thu 08:00 morning walk", "every weekday 8:30", "in 2 hours")."""
    _require_aware(now)
    cleaned = _clean(text)
    try:
        trigger = _parse_own(cleaned, now, tz) or _parse_free(cleaned, now, tz)
    except ArithmeticError as exc:  # dates at the edge of datetime's range
        raise ValueError(TRIGGER_HELP) from exc
    if trigger is None:
        raise ValueError(TRIGGER_HELP)
    return trigger


# ------------------------------------------------------------------------------ describe


def _join_days(days: tuple[int, ...]) -> str:
    """ "Thursday" for one day, "Mon, Wed and Fri" for several."""
    if len(days) == 1:
        return DAY_NAMES[days[0]]
    short = [DAY_NAMES[d][:3] for d in days]
    return ", ".join(short[:-1]) + " and " + short[-1]


def describe(trigger: TimeTrigger, tz: TzInfo, now: dt.datetime) -> str:
    """Plain words to confirm a trigger: "every weekday at 08:30 (Berlin time)"."""
    place = zone_label(tz)
    suffix = f" \u2014 {trigger.label}" if trigger.label else ""
    if trigger.kind == "once" and trigger.once_at is not None:
        local = trigger.once_at.astimezone(tz)
        year = "" if local.year == now.astimezone(tz).year else f" {local.year}"
        day = f"{DAY_NAMES[local.weekday()]} {local.day} {MONTH_ABBR[local.month - 1]}{year}"
        return f"{day}, {local:%H:%M} {place} time{suffix}"
    if trigger.kind == "daily":
        days = "day"
    elif trigger.kind == "weekdays":
        days = "weekday"
    else:
        days = _join_days(trigger.weekdays)
    return f"every {days} at {trigger.at:%H:%M} ({place} time){suffix}"
