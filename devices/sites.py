"""Opening hours and closing times of a site: pure functions on wall-clock time.

Opening hours are wall-clock times in the site's zone (Europe/Stockholm by default), per
weekday, with holidays on which the site does not open. A closing time earlier than the
opening time means the site closes after midnight (the next calendar day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["WEEKDAYS", "DayHours", "SiteSchedule", "closing_instant", "is_open"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class DayHours:
    open: time
    close: time

    @property
    def crosses_midnight(self) -> bool:
        return self.close <= self.open


@dataclass(frozen=True, slots=True)
class SiteSchedule:
    """``hours`` maps "mon".."sun" to that day's hours, or is missing for a closed day."""

    hours: Mapping[str, DayHours] = field(default_factory=dict)
    holidays: frozenset[date] = field(default_factory=frozenset)
    timezone: str = "Europe/Stockholm"

    @classmethod
    def from_json(
        cls,
        hours: Mapping[str, object] | None,
        holidays: list[str] | None,
        timezone: str = "Europe/Stockholm",
    ) -> SiteSchedule:
        parsed: dict[str, DayHours] = {}
        for day, value in (hours or {}).items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            if value is None:
                continue
            if not isinstance(value, Mapping) or "open" not in value or "close" not in value:
                raise ValueError(f'{day}: expected {{"open": "HH:MM", "close": "HH:MM"}}')
            parsed[day] = DayHours(
                time.fromisoformat(str(value["open"])), time.fromisoformat(str(value["close"]))
            )
        days = frozenset(date.fromisoformat(d) for d in (holidays or []))
        ZoneInfo(timezone)  # raises for an unknown zone
        return cls(parsed, days, timezone)

    def to_json(self) -> dict[str, dict[str, str]]:
        return {
            d: {"open": h.open.strftime("%H:%M"), "close": h.close.strftime("%H:%M")}
            for d, h in self.hours.items()
        }

    def day_hours(self, local_day: date) -> DayHours | None:
        if local_day in self.holidays:
            return None
        return self.hours.get(WEEKDAYS[local_day.weekday()])


def _at(local_day: date, t: time, zone: ZoneInfo) -> datetime:
    # fold=0: in the repeated hour of October the first occurrence; a time in March's missing
    # hour is taken as the instant an hour later, which is what a wall clock shows then.
    naive = datetime.combine(local_day, t)
    aware = naive.replace(tzinfo=zone)
    return aware


def closing_instant(schedule: SiteSchedule, local_day: date) -> datetime | None:
    """The aware instant the site closes for the opening day ``local_day`` (None: closed)."""
    hours = schedule.day_hours(local_day)
    if hours is None:
        return None
    zone = ZoneInfo(schedule.timezone)
    close_day = local_day + timedelta(days=1) if hours.crosses_midnight else local_day
    return _at(close_day, hours.close, zone)


def is_open(schedule: SiteSchedule, now: datetime) -> bool:
    """Whether the site is open at the aware instant ``now``."""
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    for day in (local.date() - timedelta(days=1), local.date()):
        hours = schedule.day_hours(day)
        if hours is None:
            continue
        start = _at(day, hours.open, zone)
        end = closing_instant(schedule, day)
        assert end is not None
        if start <= now < end:
            return True
    return False
