"""Schedule maths of night checks: pure functions of a plan, a night and ``now``.

A *night* is named by the date of its evening. It runs from 12:00 local time on that date to
12:00 the next day, so a plan of 22:30, 01:00 and 04:00 is one night: 22:30 falls on the
evening date, 01:00 and 04:00 on the next calendar day. A time earlier than 12:00 always
belongs to the morning after.

Wall-clock times are in Europe/Stockholm; everything is turned into aware UTC instants here
and all windows (grace, re-check, escalation) are elapsed durations on those instants, so a
15-minute grace window is 15 real minutes on every night of the year.

The two nights of the DST changes (EU rule: last Sunday of March and of October, 01:00 UTC):

- **March** (02:00 jumps to 03:00; 02:00–02:59 do not exist). A check planned at 02:30 happens
  at **03:00 CEST** (01:00 UTC), the first minute that exists after the jump. It is never
  dropped, never moved later than it must be, and never jumps over the next planned check
  (``devices.sites`` moves a closing time by the full hour instead; for a person waiting to be
  looked at, earlier is the safe side). Two planned times that land on the same instant (02:30
  and 03:00 that night) are one check.
- **October** (03:00 falls back to 02:00; 02:00–02:59 happen twice). A check planned at 02:30
  happens **once**, at the **first** 02:30 (CEST, 00:30 UTC). It is never done twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "NIGHT_PIVOT",
    "CheckPlan",
    "PlannedCheck",
    "Window",
    "instant",
    "local_label",
    "night_bounds",
    "night_of",
    "parse_times",
    "phase",
    "planned_checks",
    "recheck_at",
    "rung_at",
    "window",
]

#: A night runs from this local time on its evening date to the same time the next day.
NIGHT_PIVOT = time(12, 0)

Phase = Literal["upcoming", "due", "overdue"]


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """What the care plan says: the times, from when to when, and in which zone."""

    times: tuple[time, ...]
    valid_from: date
    valid_to: date | None = None  # the last night included; None: until further notice
    timezone: str = "Europe/Stockholm"

    def covers(self, night: date) -> bool:
        return self.valid_from <= night and (self.valid_to is None or night <= self.valid_to)


@dataclass(frozen=True, slots=True)
class PlannedCheck:
    night: date
    planned: time  # the wall-clock time of the plan ("02:30"), for people
    due_at: datetime  # aware UTC


@dataclass(frozen=True, slots=True)
class Window:
    opens: datetime  # a look this early still counts (the camera patrol may run early)
    due_at: datetime
    closes: datetime  # after this, with nothing done, the check is missed


def parse_times(values: Iterable[str]) -> tuple[time, ...]:
    """``["22:30", "01:00"]`` → sorted in night order (evening first), without duplicates."""
    parsed: set[time] = set()
    for value in values:
        try:
            t = time.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value[:20]!r} is not a time of day HH:MM") from exc
        if t.second or t.microsecond or t.tzinfo is not None:
            raise ValueError(f"{value[:20]!r}: give hours and minutes only, local time")
        parsed.add(t)
    if not parsed:
        raise ValueError("a schedule needs at least one check time")
    return tuple(sorted(parsed, key=_night_order))


def _night_order(t: time) -> tuple[int, time]:
    return (0 if t >= NIGHT_PIVOT else 1, t)


def instant(local_day: date, t: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``t`` on ``local_day``, by the rules in the module doc."""
    naive = datetime.combine(local_day, t)
    # fold=0 is the first of October's two 02:30s. A wall time in March's gap does not survive
    # the round trip through UTC; then the first minute that does exist is the check time.
    for minutes in range(0, 24 * 60):
        candidate = naive + timedelta(minutes=minutes)
        aware = candidate.replace(tzinfo=zone, fold=0)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == candidate:
            return aware.astimezone(UTC)
    raise ValueError(f"no wall-clock time at or after {naive} exists in {zone}")  # pragma: no cover


def night_of(now: datetime, zone: ZoneInfo) -> date:
    """The night (its evening date) that the instant ``now`` belongs to."""
    local = now.astimezone(zone)
    return local.date() if local.time() >= NIGHT_PIVOT else local.date() - timedelta(days=1)


def night_bounds(night: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a night starts and ends (12:00 to 12:00 local; 23 or 25 h at DST)."""
    return instant(night, NIGHT_PIVOT, zone), instant(night + timedelta(days=1), NIGHT_PIVOT, zone)


def planned_checks(plan: CheckPlan, night: date) -> list[PlannedCheck]:
    """The checks of ``night`` in time order; none when the plan does not cover that night."""
    if not plan.covers(night):
        return []
    zone = ZoneInfo(plan.timezone)
    seen: dict[datetime, PlannedCheck] = {}
    for t in plan.times:
        day = night if t >= NIGHT_PIVOT else night + timedelta(days=1)
        due = instant(day, t, zone)
        seen.setdefault(due, PlannedCheck(night, t, due))
    return sorted(seen.values(), key=lambda c: c.due_at)


def window(due_at: datetime, grace: timedelta, early: timedelta) -> Window:
    return Window(due_at - early, due_at, due_at + grace)


def phase(due_at: datetime, now: datetime, grace: timedelta) -> Phase:
    """Where ``now`` stands to a check: before its time, inside its grace window, or after."""
    if now < due_at:
        return "upcoming"
    if now < due_at + grace:
        return "due"
    return "overdue"


def recheck_at(found_at: datetime, delay: timedelta) -> datetime:
    """When a resident not seen at ``found_at`` is looked at again (elapsed time, DST-safe)."""
    return found_at + delay


def rung_at(escalated_at: datetime, rung: int, step: timedelta) -> datetime:
    """When escalation reaches rung ``rung`` (0 is the first) if nobody resolves it first."""
    return escalated_at + step * rung


def local_label(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%H:%M")
