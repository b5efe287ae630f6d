"""Reading the moments people type: trigger phrases, clocks and therapy slots.

No Telegram and no database here, so every rule about phrases is tested in one place. Zones
people type are bot/zones.py; what a read moment is and when it fires, bot/moments.py; wall
clocks and DST, bot/clock.py. Conventions:

* A bare weekday with a time ("thu 08:00") is a **once** trigger on the coming Thursday (today
  if that time is still ahead). It repeats only with "every"/"each"/"weekly", a plural
  ("thursdays") or several days ("mon, wed 7:15", "mon-fri 9:00").
* Every parser raises only ``ValueError``, with a message fit to show the person (bot/texts.py).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.clock import localize, require_aware
from bot.moments import ALL_DAYS, WORK_DAYS, Kind, TimeTrigger, TzInfo
from bot.texts import (
    CLOCK_HELP,
    EXPORT_PDF_HELP,
    PASSED_HELP,
    SCHEDULE_HELP,
    SCHEDULE_ONE_HELP,
    TRIGGER_HELP,
    WEEKDAY_TIME_HELP,
)
from bot.zones import zone_name

UTC = dt.UTC

MAX_INPUT = 200  # longer text is cut before parsing: nobody types a time that long
MAX_AHEAD = dt.timedelta(days=5 * 366)  # a once trigger further out is almost surely a typo
MAX_CUE = 300  # a typed moment (time or situation) is cut to this before it is read

_FLAGS = re.IGNORECASE | re.ASCII


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


def _span_date(
    day: int, month: int, year: str | None, today: dt.date, after: dt.date | None
) -> dt.date:
    """A calendar date of a span; without a year, the latest such date on or before today,
    or for the span's last day, the first such date on or after its first day."""
    try:
        if year is not None:
            return dt.date(int(year), month, day)
        if after is not None:
            candidate = dt.date(after.year, month, day)
            return candidate if candidate >= after else dt.date(after.year + 1, month, day)
        candidate = dt.date(today.year, month, day)
        return candidate if candidate <= today else dt.date(today.year - 1, month, day)
    except ValueError as exc:  # 31 Feb, year 0, 29 Feb of a year without one
        raise ValueError(EXPORT_PDF_HELP) from exc


def _take_span_day(sc: _Scanner, today: dt.date, after: dt.date | None) -> dt.date | None:
    """Consume "2026-11-01", "1 nov", "nov 1", "1st of November 2026", "today", "yesterday"."""
    start = sc.pos
    if word := sc.take_word(frozenset({"today", "yesterday"})):
        return today - dt.timedelta(days=0 if word == "today" else 1)
    if m := sc.take(_ISO_DATE_RE):
        return _span_date(int(m["d"]), int(m["mo"]), m["y"], today, after)
    for pattern in (_DAY_MONTH_RE, _MONTH_DAY_RE):
        m = sc.take(pattern)
        if m is not None and (month := _MONTH_WORDS.get(m["mon"].lower())):
            return _span_date(int(m["d"]), month, m["y"], today, after)
        sc.pos = start
    return None


def read_days(text: str, today: dt.date) -> tuple[dt.date, ...]:
    """The days of a span people type after /export pdf: none, one, or first and last.

    "2026-11-01 2026-11-30", "1 nov - 30 nov", "nov 1 to nov 30", "from 1 nov", "yesterday".
    A first day without a year is the latest such day on or before `today` (a span looks
    back); a last day without one is the first such day on or after the first.

    Raises:
        ValueError: with EXPORT_PDF_HELP, for anything else.
    """
    sc = _Scanner(_clean(text))
    days: list[dt.date] = []
    while not sc.at_end():
        if days:
            sc.take(_RANGE_RE) or sc.take_word(frozenset({"until", "till"}))
        else:
            sc.take_word(frozenset({"from", "since"}))
        day = _take_span_day(sc, today, days[0] if days else None) if len(days) < 2 else None
        if day is None:
            raise ValueError(EXPORT_PDF_HELP)
        days.append(day)
    return tuple(days)


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
        import dateparser  # ~12 MB, only for phrases our own reader does not know

        found = dateparser.parse(phrase, languages=["en"], settings=settings)
    except Exception:  # dateparser has raised odd errors on odd input; it is only a fallback
        return None
    if not isinstance(found, dt.datetime) or found.tzinfo is None:
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
    require_aware(now)
    cleaned = _clean(text)
    try:
        trigger = _parse_own(cleaned, now, tz) or _parse_free(cleaned, now, tz)
    except ArithmeticError as exc:  # dates at the edge of datetime's range
        raise ValueError(TRIGGER_HELP) from exc
    if trigger is None:
        raise ValueError(TRIGGER_HELP)
    return trigger


# ------------------------------------------------------------------------------ reading

SITUATION_RE = re.compile(
    r"^\s*(?:when|whenever|if|every\s+time|each\s+time|(?:the\s+)?next\s+time|as\s+soon\s+as)\b",
    re.IGNORECASE,
)
TIMEISH_RE = re.compile(
    r"[0-9]|\b(?:mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)\b"
    r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b"
    r"|\b(?:today|tonight|tomorrow|tmrw|every|each|daily|weekly|weekdays?|weekends?"
    r"|noon|midnight|midday|am|pm|morning|evening|afternoon)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    """How a typed moment reads: a time, a situation, a bad time, or "ask if a situation"."""

    kind: Literal["time", "situation", "bad_time", "ask"]
    text: str
    spec: TimeTrigger | None = None
    error: str = ""


def read_moment(phrase: str, now: dt.datetime, tz: TzInfo) -> Reading:
    """Decides what a typed moment is; never raises.

    Text that starts like a situation ("when", "whenever", "if", "every time", ...) is a
    situation. Otherwise it is parsed as a time; if that fails and the text looks like an
    attempt at a time (digits, day words), it is a bad time (the parser's message says how to
    write one); anything else is "ask": offered as a situation to confirm.

    Args:
        phrase: what the person typed after /trigger or when asked.
        now: aware current time.
        tz: the person's time zone.
    """
    text = " ".join(phrase.split())[:MAX_CUE]
    if SITUATION_RE.match(text):
        return Reading("situation", text)
    try:
        return Reading("time", text, spec=parse_time_trigger(text, now, tz))
    except ValueError as exc:
        if TIMEISH_RE.search(text):
            return Reading("bad_time", text, error=str(exc))
        return Reading("ask", text)


# ---------------------------------------------------------------------- therapy schedules


@dataclass(frozen=True)
class ScheduleChange:
    """What a typed therapy phrase asks for (bot/schedule.py applies it).

    kind: "rule" (weekday and time every `every_weeks` weeks), "irregular" (no fixed day),
    "next" (the next session is at `at`), "skip" (the next session does not happen), "move"
    (the next session moves to `at`), "off" (no therapy schedule at all).
    """

    kind: Literal["rule", "irregular", "next", "skip", "move", "off"]
    weekday: int | None = None
    clock: dt.time | None = None
    every_weeks: int = 1
    at: dt.datetime | None = None  # aware, for "next" and "move"


_EVERY_N_RE = re.compile(
    r"(?:every|each)\s+(?:(?P<other>other|second|2nd)|(?P<n>[2-8])\s*(?:weeks?|wks?)\s*(?:on\s+)?"
    r"|(?P<third>third|3rd)|(?P<fourth>fourth|4th))\s*",
    _FLAGS,
)
_FORTNIGHT_RE = re.compile(r"(?:bi-?weekly|fortnightly|every\s+fortnight)\s*(?:on\s+)?", _FLAGS)
_IRREGULAR_RE = re.compile(
    r"(?:irregular(?:ly)?|it\s+varies|varies|no\s+fixed\s+(?:day|time|schedule)|changes|"
    r"different\s+(?:days|times)(?:\s+each\s+time)?)[.!]?",
    _FLAGS,
)
_SKIP_RE = re.compile(
    r"(?:no\s+(?:session|therapy)\s+(?:next\s+(?:week|time)|this\s+week)|skip(?:\s+(?:the\s+)?"
    r"next(?:\s+(?:one|session))?)?|(?:next|this)\s+(?:week|session)\s+is\s+(?:off|cancell?ed)"
    r"|cancell?ed)[.!]?",
    _FLAGS,
)
_MOVE_RE = re.compile(r"(?:it(?:'s|\s+(?:is|has|was))?\s+|(?:the\s+)?next\s+(?:one|session)\s+)?"
                      r"(?:moved|move[sd]?|moving)\s+to\s+", _FLAGS)  # fmt: skip
_NEXT_RE = re.compile(r"(?:(?:the\s+)?next\s+(?:one|session)\s+(?:is\s+)?(?:on\s+)?|next\s+)",
                      _FLAGS)  # fmt: skip
_OFF_WORDS = frozenset({"off", "none", "no", "stop", "clear"})


def _one_moment(text: str, now: dt.datetime, tz: TzInfo) -> dt.datetime:
    """A single upcoming date and time ("wed 18:00", "14 dec 10:00", "tomorrow 9")."""
    try:
        spec = parse_time_trigger(text, now, tz)
    except ValueError:
        raise ValueError(SCHEDULE_HELP) from None
    if spec.label:  # "tue 17:00 with Anna" is a trigger's label, not a session's time
        raise ValueError(SCHEDULE_HELP)
    if spec.kind != "once" or spec.once_at is None:
        raise ValueError(SCHEDULE_ONE_HELP)
    return spec.once_at


def read_schedule(
    text: str, now: dt.datetime, tz: TzInfo, *, irregular: bool = False
) -> ScheduleChange:
    """Reads a therapy phrase: "tue 17:00", "every other tue 17:00", "every 3 weeks on mon
    9:00", "irregular", "next wed 18:00", "no session next week", "moved to thu 9:00", "off".

    For a person on an `irregular` schedule a plain "wed 18:00" is their next session; for
    anyone else it is a weekly rule ("every wed 18:00" is a rule for everyone).

    Raises:
        ValueError: with a message fit to show the person.
    """
    require_aware(now)
    cleaned = _clean(text).strip(" .!")
    if cleaned.lower() in _OFF_WORDS:
        return ScheduleChange("off")
    if _IRREGULAR_RE.fullmatch(cleaned):
        return ScheduleChange("irregular")
    if _SKIP_RE.fullmatch(cleaned):
        return ScheduleChange("skip")
    if (moved := _MOVE_RE.match(cleaned)) is not None:
        return ScheduleChange("move", at=_one_moment(cleaned[moved.end() :], now, tz))
    if (following := _NEXT_RE.match(cleaned)) is not None:
        return ScheduleChange("next", at=_one_moment(cleaned[following.end() :], now, tz))
    sc = _Scanner(cleaned)
    every = 1
    if (m := sc.take(_EVERY_N_RE)) is not None:
        every = 2 if m["other"] else int(m["n"]) if m["n"] else 3 if m["third"] else 4
    elif sc.take(_FORTNIGHT_RE) is not None:
        every = 2
    else:
        sc.take_word(frozenset({"every", "each", "weekly", "on"}))
    said_every = sc.pos > 0
    day = _take_weekday(sc)
    if day is not None and not (irregular and not said_every and not day[1]):
        sc.take(re.compile(r"\s*(?:at\s+)?", _FLAGS))
        clock = _take_clock(sc, bare_ok=True)
        if clock is not None and sc.at_end():
            return ScheduleChange("rule", weekday=day[0], clock=clock, every_weeks=every)
    if every == 1:  # one date and time alone: the next session of an irregular schedule
        try:
            return ScheduleChange("next", at=_one_moment(cleaned, now, tz))
        except ValueError:
            pass
    raise ValueError(SCHEDULE_HELP)
