"""Time zones people type: a city, an IANA name or an offset, stored and shown back.

``parse_timezone`` reads what a person typed ("Berlin", "Europe/Berlin", "+5:30", "São
Paulo"); ``zone_name`` is what the users table stores and ``load_zone`` its reverse;
``zone_label`` is the short name a person reads ("New York", "UTC+05:30"). Parsers raise only
``ValueError`` with a message fit to show the person.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.texts import TIMEZONE_HELP

TzInfo = dt.tzinfo

_FLAGS = re.IGNORECASE | re.ASCII

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
