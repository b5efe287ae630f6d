"""Time zones, trigger phrases and next-fire instants, including both DST transitions."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import local_day_bounds, next_weekly
from bot.moments import ALL_DAYS, WORK_DAYS, TimeTrigger, describe, next_fire
from bot.timespec import parse_clock, parse_time_trigger, parse_weekday_time
from bot.zones import load_zone, parse_timezone, zone_label, zone_name

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Tuesday 24 Nov 2026, 15:00 in Berlin: the "now" for every phrase below.
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=BERLIN)
USAGE = "Try: thu 08:00 morning walk"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


# ------------------------------------------------------------------------- phrases

PHRASES = [
    # text, kind, weekdays, at, label, once_at (Berlin wall time) or None
    ("thu 08:00 morning walk", "once", (), (8, 0), "morning walk", berlin(2026, 11, 26, 8)),
    ("thursday 8am", "once", (), (8, 0), "", berlin(2026, 11, 26, 8)),
    ("Thursday 8:00, morning walk", "once", (), (8, 0), "morning walk", berlin(2026, 11, 26, 8)),
    ("THU 8:00 Morning Walk", "once", (), (8, 0), "Morning Walk", berlin(2026, 11, 26, 8)),
    ("on thursday at 8am - walk", "once", (), (8, 0), "walk", berlin(2026, 11, 26, 8)),
    ("tue 16:00 call", "once", (), (16, 0), "call", berlin(2026, 11, 24, 16)),
    ("tue 09:00", "once", (), (9, 0), "", berlin(2026, 12, 1, 9)),
    ("every thursday 8:00", "weekly", (3,), (8, 0), "", None),
    ("each thu 08:00 morning walk", "weekly", (3,), (8, 0), "morning walk", None),
    ("weekly fri 18:00", "weekly", (4,), (18, 0), "", None),
    ("thursdays 8am walk", "weekly", (3,), (8, 0), "walk", None),
    ("tomorrow 7pm", "once", (), (19, 0), "", berlin(2026, 11, 25, 19)),
    ("Tomorrow at 7 pm, dinner", "once", (), (19, 0), "dinner", berlin(2026, 11, 25, 19)),
    ("today 18:30", "once", (), (18, 30), "", berlin(2026, 11, 24, 18, 30)),
    ("tonight 9 call mum", "once", (), (21, 0), "call mum", berlin(2026, 11, 24, 21)),
    ("in 2 hours", "once", (), (17, 0), "", berlin(2026, 11, 24, 17)),
    ("in 10 minutes stretch", "once", (), (15, 10), "stretch", berlin(2026, 11, 24, 15, 10)),
    ("in an hour", "once", (), (16, 0), "", berlin(2026, 11, 24, 16)),
    ("in 2 days 9am", "once", (), (9, 0), "", berlin(2026, 11, 26, 9)),
    ("every day 9:00", "daily", ALL_DAYS, (9, 0), "", None),
    ("daily 21:00 journal", "daily", ALL_DAYS, (21, 0), "journal", None),
    ("every weekday 8:30", "weekdays", WORK_DAYS, (8, 30), "", None),
    ("on weekdays at 8:30", "weekdays", WORK_DAYS, (8, 30), "", None),
    ("mon-fri 9:00", "weekdays", WORK_DAYS, (9, 0), "", None),
    ("weekends 10:00 long walk", "weekly", (5, 6), (10, 0), "long walk", None),
    ("mon, wed 7:15 gym", "weekly", (0, 2), (7, 15), "gym", None),
    ("mon and wed 7:15", "weekly", (0, 2), (7, 15), "", None),
    ("every mon, wed and fri 6:45 run", "weekly", (0, 2, 4), (6, 45), "run", None),
    ("26 nov 08:00", "once", (), (8, 0), "", berlin(2026, 11, 26, 8)),
    ("26th of November 8am dentist", "once", (), (8, 0), "dentist", berlin(2026, 11, 26, 8)),
    ("nov 26 08:00", "once", (), (8, 0), "", berlin(2026, 11, 26, 8)),
    ("3 jan 10:00", "once", (), (10, 0), "", berlin(2027, 1, 3, 10)),
    ("2026-11-26 08:00", "once", (), (8, 0), "", berlin(2026, 11, 26, 8)),
    ("Thursday 26 Nov, 08:00 morning walk", "once", (), (8, 0), "morning walk", None),
    ("8:00", "once", (), (8, 0), "", berlin(2026, 11, 25, 8)),
    ("20:30 read the note", "once", (), (20, 30), "read the note", berlin(2026, 11, 24, 20, 30)),
    ("8pm tomorrow dentist", "once", (), (20, 0), "dentist", berlin(2026, 11, 25, 20)),
    ("8.30pm", "once", (), (20, 30), "", berlin(2026, 11, 24, 20, 30)),
    ("noon tomorrow", "once", (), (12, 0), "", berlin(2026, 11, 25, 12)),
    ("next friday at noon", "once", (), (12, 0), "", berlin(2026, 11, 27, 12)),
    ("next friday at noon lunch with Sam", "once", (), (12, 0), "lunch with Sam", None),
    ("thu 8:00 🌿 walk", "once", (), (8, 0), "🌿 walk", berlin(2026, 11, 26, 8)),
]


@pytest.mark.parametrize(("text", "kind", "weekdays", "at", "label", "once_at"), PHRASES)
def test_phrases(
    text: str,
    kind: str,
    weekdays: tuple[int, ...],
    at: tuple[int, int],
    label: str,
    once_at: dt.datetime | None,
) -> None:
    trigger = parse_time_trigger(text, NOW, BERLIN)
    assert (trigger.kind, trigger.weekdays, trigger.at, trigger.label) == (
        kind,
        weekdays,
        dt.time(*at),
        label,
    )
    if kind == "once":
        assert trigger.once_at is not None
        assert trigger.once_at.tzinfo is not None
        if once_at is not None:
            assert trigger.once_at == once_at
    else:
        assert trigger.once_at is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "banana",
        "32:99",
        "25:00",
        "13pm",
        "every blursday 8:00",
        "every 2 hours",
        "yesterday 8am",
        "thursday",
        "tomorrow",
        "31 feb 10:00",
        "in 99999 weeks",
        "9999-12-31 23:59",
        "8",
    ],
)
def test_invalid_phrases_give_the_usage_hint(text: str) -> None:
    with pytest.raises(ValueError, match=USAGE):
        parse_time_trigger(text, NOW, BERLIN)


def test_past_time_says_so() -> None:
    with pytest.raises(ValueError, match="already passed"):
        parse_time_trigger("today 08:00", NOW, BERLIN)


def test_bare_weekday_today_still_ahead_is_today_else_next_week() -> None:
    thursday_morning = berlin(2026, 11, 26, 7)
    ahead = parse_time_trigger("thu 08:00", thursday_morning, BERLIN)
    assert ahead.once_at == berlin(2026, 11, 26, 8)
    passed = parse_time_trigger("thu 06:00", thursday_morning, BERLIN)
    assert passed.once_at == berlin(2026, 12, 3, 6)


def test_long_and_odd_input_is_cut_and_cleaned() -> None:
    trigger = parse_time_trigger("thu 08:00 " + "walk " * 2000, NOW, BERLIN)
    assert len(trigger.label) <= 200
    assert parse_time_trigger("thu\x0008:00\tmorning\x1bwalk", NOW, BERLIN).label == (
        "morning walk"
    )
    with pytest.raises(ValueError):
        parse_time_trigger("שלום 8:00" * 1000, NOW, BERLIN)


def test_once_in_other_zone_uses_its_wall_clock() -> None:
    now = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)
    trigger = parse_time_trigger("tomorrow 08:00", now, NEW_YORK)
    assert next_fire(trigger, now, NEW_YORK) == utc(2026, 11, 25, 13)


def test_naive_now_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_time_trigger("tomorrow 8am", dt.datetime(2026, 11, 24, 12), BERLIN)


# ------------------------------------------------------------------- weekday + clock


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tue 17:00", (1, dt.time(17))),
        ("Tuesday 5pm", (1, dt.time(17))),
        ("thu 8:30", (3, dt.time(8, 30))),
        ("mon 9", (0, dt.time(9))),
        ("every wed at 18.15", (2, dt.time(18, 15))),
        ("Sundays 10am", (6, dt.time(10))),
    ],
)
def test_parse_weekday_time(text: str, expected: tuple[int, dt.time]) -> None:
    assert parse_weekday_time(text) == expected


@pytest.mark.parametrize("text", ["", "tue", "17:00", "blursday 5pm", "tue 25:00", "tue 5pm x"])
def test_parse_weekday_time_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="like tue 17:00"):
        parse_weekday_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20:30", dt.time(20, 30)),
        ("8pm", dt.time(20)),
        ("8.30pm", dt.time(20, 30)),
        ("8:30 a.m.", dt.time(8, 30)),
        ("12am", dt.time(0)),
        ("12pm", dt.time(12)),
        ("noon", dt.time(12)),
        ("7", dt.time(7)),
    ],
)
def test_parse_clock(text: str, expected: dt.time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["", "off", "24:00", "8:60", "0am", "13pm", "8pm tomorrow"])
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)


# ------------------------------------------------------------------------ next fire


def daily(hour: int, minute: int = 0) -> TimeTrigger:
    return TimeTrigger("daily", ALL_DAYS, dt.time(hour, minute))


@pytest.mark.parametrize(
    ("trigger", "zone", "after", "expected"),
    [
        # Berlin spring forward, 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC)
        (daily(8), "Europe/Berlin", utc(2026, 3, 28, 12), utc(2026, 3, 29, 6)),
        (daily(8), "Europe/Berlin", utc(2026, 3, 27, 12), utc(2026, 3, 28, 7)),
        (daily(2, 30), "Europe/Berlin", utc(2026, 3, 28, 12), utc(2026, 3, 29, 1)),
        (daily(2, 30), "Europe/Berlin", utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)),
        # Berlin fall back, 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC)
        (daily(8), "Europe/Berlin", utc(2026, 10, 24, 12), utc(2026, 10, 25, 7)),
        (daily(2, 30), "Europe/Berlin", utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30)),
        (daily(2, 30), "Europe/Berlin", utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        # New York spring forward, 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC)
        (daily(8), "America/New_York", utc(2026, 3, 7, 14), utc(2026, 3, 8, 12)),
        (daily(2, 30), "America/New_York", utc(2026, 3, 7, 14), utc(2026, 3, 8, 7)),
        # New York fall back, 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC)
        (daily(8), "America/New_York", utc(2026, 10, 31, 14), utc(2026, 11, 1, 13)),
        (daily(1, 30), "America/New_York", utc(2026, 10, 31, 14), utc(2026, 11, 1, 5, 30)),
        (daily(1, 30), "America/New_York", utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)),
        # zones without DST now, and southern-hemisphere summer time
        (
            TimeTrigger("weekly", (3,), dt.time(8)),
            "Asia/Kolkata",
            utc(2026, 11, 24),
            utc(2026, 11, 26, 2, 30),
        ),
        (daily(8), "Australia/Sydney", utc(2026, 11, 23, 12), utc(2026, 11, 23, 21)),
        (
            TimeTrigger("weekly", (6,), dt.time(2, 30)),
            "Australia/Sydney",
            utc(2026, 10, 1),
            utc(2026, 10, 3, 16),
        ),
        (
            TimeTrigger("weekly", (0,), dt.time(9)),
            "Pacific/Auckland",
            utc(2026, 11, 24),
            utc(2026, 11, 29, 20),
        ),
        (
            TimeTrigger("weekdays", WORK_DAYS, dt.time(8, 30)),
            "Pacific/Auckland",
            utc(2026, 11, 27, 19, 30),  # Saturday 08:30 NZDT: skip the weekend
            utc(2026, 11, 29, 19, 30),
        ),
    ],
)
def test_next_fire(
    trigger: TimeTrigger, zone: str, after: dt.datetime, expected: dt.datetime
) -> None:
    fired = next_fire(trigger, after, ZoneInfo(zone))
    assert fired == expected
    assert fired is not None and fired.utcoffset() == dt.timedelta(0)


def test_next_fire_is_strictly_after() -> None:
    at = utc(2026, 11, 26, 7)  # Thursday 08:00 Berlin
    trigger = TimeTrigger("weekly", (3,), dt.time(8))
    assert next_fire(trigger, at, BERLIN) == utc(2026, 12, 3, 7)
    assert next_fire(trigger, at - dt.timedelta(seconds=1), BERLIN) == at


def test_once_fires_then_is_spent() -> None:
    trigger = parse_time_trigger("tomorrow 7pm", NOW, BERLIN)
    first = next_fire(trigger, NOW.astimezone(UTC), BERLIN)
    assert first == utc(2026, 11, 25, 18)
    assert next_fire(trigger, first, BERLIN) is None


def test_fixed_offset_zone() -> None:
    tz = parse_timezone("+05:30")
    trigger = TimeTrigger("weekly", (3,), dt.time(8))
    assert next_fire(trigger, utc(2026, 11, 24), tz) == utc(2026, 11, 26, 2, 30)


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", utc(2026, 10, 10)),
        ("Europe/Berlin", utc(2026, 3, 14)),
        ("America/New_York", utc(2026, 10, 17)),
        ("America/New_York", utc(2026, 2, 21)),
    ],
)
def test_weekly_fires_once_a_week_across_dst(zone: str, start: dt.datetime) -> None:
    tz = ZoneInfo(zone)
    trigger = TimeTrigger("weekly", (3,), dt.time(8))
    fires = []
    after = start
    for _ in range(6):
        fired = next_fire(trigger, after, tz)
        assert fired is not None
        fires.append(fired)
        after = fired
    for fired in fires:
        local = fired.astimezone(tz)
        assert (local.weekday(), local.time()) == (3, dt.time(8))
    offsets = {f.astimezone(tz).utcoffset() for f in fires}
    assert len(offsets) == 2  # the run really crosses a transition
    for earlier, later in itertools.pairwise(fires):
        assert abs(later - earlier - dt.timedelta(days=7)) <= dt.timedelta(hours=1)


def test_next_weekly_matches_trigger_rules() -> None:
    assert next_weekly(1, dt.time(17), BERLIN, utc(2026, 3, 25)) == utc(2026, 3, 31, 15)
    assert next_weekly(6, dt.time(2, 30), BERLIN, utc(2026, 3, 28)) == utc(2026, 3, 29, 1)
    with pytest.raises(ValueError):
        next_weekly(1, dt.time(17), BERLIN, dt.datetime(2026, 3, 25))


@pytest.mark.parametrize(
    ("day", "zone", "start", "hours"),
    [
        (dt.date(2026, 3, 29), "Europe/Berlin", utc(2026, 3, 28, 23), 23),
        (dt.date(2026, 10, 25), "Europe/Berlin", utc(2026, 10, 24, 22), 25),
        (dt.date(2026, 11, 24), "Europe/Berlin", utc(2026, 11, 23, 23), 24),
        (dt.date(2026, 11, 1), "America/New_York", utc(2026, 11, 1, 4), 25),
        (dt.date(2026, 11, 24), "Asia/Kolkata", utc(2026, 11, 23, 18, 30), 24),
    ],
)
def test_local_day_bounds(day: dt.date, zone: str, start: dt.datetime, hours: int) -> None:
    begin, end = local_day_bounds(day, ZoneInfo(zone))
    assert begin == start
    assert end - begin == dt.timedelta(hours=hours)


# ------------------------------------------------------------------------- describe


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        (
            "thu 08:00 morning walk",
            "Europe/Berlin",
            "Thursday 26 Nov, 08:00 Berlin time — morning walk",
        ),
        ("every weekday 8:30", "Europe/Berlin", "every weekday at 08:30 (Berlin time)"),
        ("mon and wed 7:15", "America/New_York", "every Mon and Wed at 07:15 (New York time)"),
        ("every day 9:00", "+05:30", "every day at 09:00 (UTC+05:30 time)"),
        ("every thu 8:00", "+2", "every Thursday at 08:00 (UTC+02:00 time)"),
        ("3 jan 10:00", "Europe/Berlin", "Sunday 3 Jan 2027, 10:00 Berlin time"),
    ],
)
def test_describe(text: str, zone: str, expected: str) -> None:
    tz = parse_timezone(zone)
    assert describe(parse_time_trigger(text, NOW, tz), tz, NOW) == expected


# ----------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("europe/berlin", "Europe/Berlin"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("São Paulo", "America/Sao_Paulo"),
        ("sao paulo", "America/Sao_Paulo"),
        ("London", "Europe/London"),
        ("Tokyo", "Asia/Tokyo"),
        ("Sydney", "Australia/Sydney"),
        ("Los Angeles", "America/Los_Angeles"),
        ("  kolkata ", "Asia/Kolkata"),
        ("Port-au-Prince", "America/Port-au-Prince"),
        ("UTC", "UTC"),
        ("+2", "Etc/GMT-2"),
        ("-5", "Etc/GMT+5"),
        ("GMT-3", "Etc/GMT+3"),
        ("utc+0", "UTC"),
        ("UTC+5:30", "+05:30"),
        ("+05:30", "+05:30"),
        ("-03:30", "-03:30"),
        ("+0545", "+05:45"),
    ],
)
def test_parse_timezone(text: str, stored: str) -> None:
    tz = parse_timezone(text)
    assert zone_name(tz) == stored
    assert zone_name(load_zone(stored)) == stored
    probe = dt.datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert probe.astimezone(load_zone(stored)).utcoffset() == probe.astimezone(tz).utcoffset()


def test_whole_hour_offsets_are_zoneinfo_with_inverted_sign() -> None:
    tz = parse_timezone("+2")
    assert isinstance(tz, ZoneInfo)
    assert dt.datetime(2026, 1, 1, tzinfo=tz).utcoffset() == dt.timedelta(hours=2)
    assert zone_label(tz) == "UTC+02:00"
    assert isinstance(parse_timezone("+5:30"), dt.timezone)


@pytest.mark.parametrize(
    "text",
    ["", "mars", "Atlantis", "+15", "-13", "+5:75", "Europe", "localtime", "../etc/passwd"],
)
def test_parse_timezone_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="I don't know that time zone"):
        parse_timezone(text)


@pytest.mark.parametrize("name", ["Not/AZone", "", "../../etc/passwd", "Europe"])
def test_load_zone_rejects(name: str) -> None:
    with pytest.raises(ValueError):
        load_zone(name)


# ---------------------------------------------------------------------- properties

WORDS = [
    "every", "each", "daily", "weekly", "weekdays", "weekends", "on", "at", "in", "and", ",",
    "-", "thu", "Thursday", "thursdays", "mon", "fri", "today", "tonight", "tomorrow", "next",
    "noon", "nov", "26", "26th", "of", "2026-11-26", "9999-12-31", "0001-01-01", "8", "08:00",
    "8pm", "8.30", "32:99", "12am", "2", "hours", "minutes", "days", "weeks", "an", "99999",
    "walk", "🌿", "שלום", "\x00", "\u202e",
]  # fmt: skip
PHRASE_LIKE = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)
LONG_TEXT = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=40), st.integers(1, 400))
ANY_TEXT = st.one_of(st.text(), PHRASE_LIKE, LONG_TEXT)
ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Pacific/Auckland", "+05:30", "UTC"])
NOWS = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1))

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(text=ANY_TEXT, zone=ZONES, naive_now=NOWS)
def test_parse_time_trigger_only_raises_value_error(
    text: str, zone: str, naive_now: dt.datetime
) -> None:
    tz = load_zone(zone)
    now = naive_now.replace(tzinfo=UTC)
    try:
        trigger = parse_time_trigger(text, now, tz)
    except ValueError:
        return
    assert isinstance(trigger, TimeTrigger)
    fired = next_fire(trigger, now, tz)
    if trigger.kind == "once":
        assert fired is not None and fired > now
    else:
        assert fired is not None and fired.astimezone(tz).weekday() in trigger.weekdays
    assert describe(trigger, tz, now)


@PROPERTY
@given(text=st.one_of(st.text(), LONG_TEXT))
def test_parse_timezone_only_raises_value_error(text: str) -> None:
    try:
        tz = parse_timezone(text)
    except ValueError:
        return
    assert zone_name(load_zone(zone_name(tz))) == zone_name(tz)
