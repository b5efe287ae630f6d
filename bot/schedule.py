"""A person's therapy sessions as they really are: every N weeks, irregular, skipped, moved.

`Schedule` answers the only two questions the rest of the bot asks of therapy, "when is the
next session after t" and "when was the latest one until t", as aware UTC instants. The
evening prompt, the digest, the follow-up's wording and which session a capture belongs to
all ask it, so they agree with each other and with /settings' "next three sessions".

The sessions are:

* the rule's, when there is one: the weekday at the local time, every `every_weeks` weeks
  counted from the local date `anchor` (every week when `every_weeks` is 1), enumerated as
  local dates and localized one by one (bot.clock), so DST never moves a session;
* minus the rule's sessions that were skipped (a skipped instant, or the old instant of a
  moved session);
* plus the explicit sessions: each one an irregular person gave ("next wed 18:00"), and
  where a moved session went.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clock import UTC, Weekly, aware, require_aware, zone_of
from storage.models import TherapyDate, TherapyDateKind

if TYPE_CHECKING:
    from bot.timespec import ScheduleChange
    from storage.models import User

# How far to look for a rule's session: every N weeks comes round within N weeks and a day
# either side of any offset; skipped ones push it further, so the search widens.
_SEARCH_WEEKS = 60
SESSION_LENGTH = dt.timedelta(hours=1)  # what the bot assumes a session lasts


@dataclass(frozen=True)
class Schedule:
    """Therapy sessions of one person; every instant is aware UTC."""

    tz: dt.tzinfo
    weekday: int | None = None  # 0 = Monday; None: no rule
    at: dt.time | None = None
    every_weeks: int = 1
    anchor: dt.date | None = None  # a local date the rule holds on (for every N > 1 weeks)
    irregular: bool = False
    sessions: tuple[dt.datetime, ...] = ()
    skipped: frozenset[dt.datetime] = field(default_factory=frozenset)

    @classmethod
    def of(cls, user: User, dates: Iterable[TherapyDate] | None = None) -> Schedule:
        """The schedule in a person's row and their `therapy_dates` (default: the loaded ones)."""
        rows = list(user.therapy_dates if dates is None else dates)
        has_rule = not user.therapy_irregular and user.therapy_weekday is not None
        return cls(
            tz=zone_of(user),
            weekday=user.therapy_weekday if has_rule else None,
            at=(user.therapy_time or dt.time(0)) if has_rule else None,
            every_weeks=max(1, user.therapy_every_weeks or 1),
            anchor=user.therapy_anchor,
            irregular=user.therapy_irregular,
            sessions=tuple(
                sorted(aware(r.starts_at) for r in rows if r.kind == TherapyDateKind.SESSION)
            ),
            skipped=frozenset(aware(r.starts_at) for r in rows if r.kind == TherapyDateKind.SKIP),
        )

    @property
    def has_rule(self) -> bool:
        return self.weekday is not None and self.at is not None

    @property
    def is_set(self) -> bool:
        """Whether there is anything to plan around (a rule, or irregular dates to come)."""
        return self.has_rule or bool(self.sessions)

    def _on_rule(self, day: dt.date) -> bool:
        if self.every_weeks <= 1 or self.anchor is None:
            return True
        return ((day - self.anchor).days // 7) % self.every_weeks == 0

    def _rule_between(self, first: dt.date, last: dt.date) -> list[dt.datetime]:
        """The rule's sessions on local dates `first`..`last` (skipped ones left out)."""
        if self.weekday is None or self.at is None:
            return []
        weekly = Weekly((self.weekday,), self.at, self.tz)
        found = []
        for day in weekly.dates(first, last):
            if self._on_rule(day):
                instant = weekly_instant(day, self.at, self.tz)
                if instant not in self.skipped:
                    found.append(instant)
        return found

    def between(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        """Every session starting in [start, end), in order."""
        require_aware(start)
        require_aware(end)
        first = start.astimezone(self.tz).date() - dt.timedelta(days=1)
        last = end.astimezone(self.tz).date() + dt.timedelta(days=1)
        found = {s for s in self._rule_between(first, last) if start <= s < end}
        found.update(s for s in self.sessions if start <= s < end)
        return sorted(found)

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first session strictly after `after`, or None when none is planned."""
        require_aware(after)
        explicit = next((s for s in self.sessions if s > after), None)
        if self.has_rule:
            span = dt.timedelta(weeks=self.every_weeks + 1)
            start = after + dt.timedelta(microseconds=1)
            for _ in range(_SEARCH_WEEKS // (self.every_weeks + 1) + 1):
                ruled = self.between(start, start + span)
                if ruled:
                    return min(ruled[0], explicit) if explicit else ruled[0]
                start += span
        return explicit

    def last_until(self, moment: dt.datetime) -> dt.datetime | None:
        """The latest session at or before `moment`, or None."""
        require_aware(moment)
        explicit = next((s for s in reversed(self.sessions) if s <= moment), None)
        if self.has_rule:
            span = dt.timedelta(weeks=self.every_weeks + 1)
            end = moment + dt.timedelta(microseconds=1)
            for _ in range(_SEARCH_WEEKS // (self.every_weeks + 1) + 1):
                ruled = self.between(end - span, end)
                if ruled:
                    return max(ruled[-1], explicit) if explicit else ruled[-1]
                end -= span
        return explicit

    def after_session(self, moment: dt.datetime) -> dt.datetime:
        """`moment`, or the end of the session it falls in (nobody is asked "how did it go?"
        in the middle of therapy; SESSION_LENGTH after a session starts)."""
        started = self.last_until(moment)
        if started is not None and moment < started + SESSION_LENGTH:
            return started + SESSION_LENGTH
        return moment

    def upcoming(self, after: dt.datetime, count: int = 3) -> list[dt.datetime]:
        """The next `count` sessions after `after` (fewer when fewer are planned)."""
        found: list[dt.datetime] = []
        moment = after
        while len(found) < count and (following := self.next_after(moment)) is not None:
            found.append(following)
            moment = following
        return found


def weekly_instant(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The aware UTC instant of local `at` on `day` (bot.clock's DST rules)."""
    from bot.clock import localize

    return localize(day, at, tz).astimezone(UTC)


def anchor_for(weekday: int, at: dt.time, tz: dt.tzinfo, now: dt.datetime) -> dt.date:
    """The local date of the next `weekday` at `at`: a rule counted from there starts with it."""
    weekly = Weekly((weekday,), at, tz)
    following = weekly.next_after(now)
    if following is None:  # pragma: no cover - a weekday always comes round within 8 days
        raise ValueError("no occurrence found")
    return following.astimezone(tz).date()


def last_therapy(user: User, now: dt.datetime) -> tuple[dt.date, dt.datetime] | None:
    """The local date and naive UTC start of the person's latest session at or before `now`.

    None without a schedule or before its first session. `now` is the aware reading the
    caller dates everything else by.
    """
    start = Schedule.of(user).last_until(now)
    if start is None:
        return None
    return start.astimezone(zone_of(user)).date(), start.replace(tzinfo=None)


def _drop_after(user: User, now: dt.datetime) -> None:
    """Forgets the exceptions still ahead (a new rule starts clean; the past stays)."""
    keep = [d for d in user.therapy_dates if aware(d.starts_at) <= now]
    user.therapy_dates[:] = keep


def _add(user: User, kind: TherapyDateKind, at: dt.datetime) -> None:
    starts = at.astimezone(UTC).replace(tzinfo=None)
    if not any(d.kind == kind and d.starts_at == starts for d in user.therapy_dates):
        user.therapy_dates.append(TherapyDate(user_id=user.id, kind=kind, starts_at=starts))


def _cancel(user: User, session: dt.datetime) -> None:
    """Takes one upcoming session out: an explicit one is removed, the rule's is skipped."""
    starts = session.astimezone(UTC).replace(tzinfo=None)
    explicit = [
        d for d in user.therapy_dates if d.kind == TherapyDateKind.SESSION and d.starts_at == starts
    ]
    if explicit:
        for row in explicit:
            user.therapy_dates.remove(row)
    else:
        _add(user, TherapyDateKind.SKIP, session)


def apply(user: User, change: ScheduleChange, now: dt.datetime) -> None:
    """Changes the person's row (and its `therapy_dates`) as `change` asks.

    Raises:
        ValueError: a skip or move with no session ahead, or a session in the past, with a
            message fit to show the person.
    """
    from bot import texts

    require_aware(now)
    if change.kind in ("rule", "irregular", "off"):
        _drop_after(user, now)
        user.therapy_irregular = change.kind == "irregular"
        user.therapy_every_weeks = change.every_weeks if change.kind == "rule" else 1
        user.therapy_weekday = change.weekday if change.kind == "rule" else None
        user.therapy_time = change.clock if change.kind == "rule" else None
        user.therapy_anchor = None
        if change.kind == "rule" and change.every_weeks > 1:
            assert change.weekday is not None and change.clock is not None  # a rule has both
            user.therapy_anchor = anchor_for(change.weekday, change.clock, zone_of(user), now)
        return
    if change.at is not None and change.at <= now:
        raise ValueError(texts.SCHEDULE_PAST)
    if change.kind == "next":
        assert change.at is not None  # read_schedule gives "next" its moment
        _add(user, TherapyDateKind.SESSION, change.at)
        return
    following = Schedule.of(user).next_after(now)
    if following is None:
        raise ValueError(texts.SCHEDULE_NOTHING_AHEAD)
    _cancel(user, following)
    if change.kind == "move":
        assert change.at is not None  # read_schedule gives "move" its moment
        _add(user, TherapyDateKind.SESSION, change.at)


def describe(user: User, now: dt.datetime, count: int = 3) -> str:
    """The schedule in words and its next `count` sessions in the person's zone."""
    from bot import texts

    schedule = Schedule.of(user)
    tz = schedule.tz
    if schedule.has_rule:
        assert schedule.weekday is not None and schedule.at is not None  # has_rule
        day = texts.WEEKDAY_NAMES[schedule.weekday]
        rule = texts.SCHEDULE_EVERY.get(schedule.every_weeks, texts.SCHEDULE_EVERY_N)
        kind = rule.format(day=day, time=f"{schedule.at:%H:%M}", n=schedule.every_weeks)
    elif user.therapy_irregular:
        kind = texts.SCHEDULE_IRREGULAR
    else:
        return texts.SCHEDULE_NONE
    upcoming = schedule.upcoming(now, count)
    if not upcoming:
        return f"{kind}\n{texts.SCHEDULE_NO_NEXT}"
    dates = "\n".join(f"• {s.astimezone(tz):%a %d %b, %H:%M}" for s in upcoming)
    return f"{kind}\n{texts.SCHEDULE_NEXT}\n{dates}"
