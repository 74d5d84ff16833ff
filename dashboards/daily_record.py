"""The kitchen's daily temperature record (egenkontroll): pure figures per local day.

SKR's guidelines for public kitchens, reviewed by Livsmedelsverket, ask for the freezer
temperature to be checked daily, by hand or with a logger; this replaces the paper by the
freezer. Per device and Europe/Stockholm calendar day (23 h on the spring DST day, 25 h on the
autumn one): min, max and mean of the readings taken that day, the time above the limit
(-18 °C for freezers, +8 °C for fridges; configurable), door-open minutes, and the alerts that
started that day with who acknowledged them.

Time above the limit and door-open time treat each reading as holding until the next one, but
never longer than ``max_hold`` (2.5 report intervals): past that the device was silent and we do
not know, so we do not count. A day no reading covers has no time above the limit (``None``,
"ingen data"), not zero: an empty day must not read as a compliant one. The mean is the
plain mean of the day's readings, which is what a person writing readings on paper would
compute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.bounds import check_year
from dashboards.downsample import Point, true_periods

__all__ = [
    "DEFAULT_LIMITS",
    "AlertNote",
    "DayRecord",
    "DeviceRecord",
    "SiteRecord",
    "day_records",
    "local_days",
    "parse_month",
]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
#: type -> the temperature a reading must not be above (LIVSFS 2006:12; Livsmedelsverket +8 °C)
DEFAULT_LIMITS: dict[str, float] = {"freezer": -18.0, "fridge": 8.0}


@dataclass(frozen=True, slots=True)
class AlertNote:
    id: int
    rule: str
    severity: str
    state: str
    started_at: datetime
    resolved_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class DayRecord:
    day: date
    hours: float  # 23, 24 or 25
    readings: int
    min: float | None
    max: float | None
    mean: float | None
    above_limit_min: float | None  # None: no reading covers any of the day (no data)
    door_open_min: float | None  # None: the device has no door contact
    alerts: tuple[AlertNote, ...] = ()
    covered_min: float = 0.0  # minutes of the day a temperature reading holds for


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    device_id: str
    name: str
    place: str | None
    type: str
    limit: float
    days: tuple[DayRecord, ...]


@dataclass(frozen=True, slots=True)
class SiteRecord:
    site_id: str
    site_name: str
    month: str  # YYYY-MM
    generated_at: datetime
    devices: tuple[DeviceRecord, ...]


def parse_month(text: str) -> tuple[int, int]:
    try:
        year, month = (int(p) for p in text.split("-"))
        date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"month {text!r}: expected YYYY-MM, e.g. 2026-10") from exc
    check_year(year)  # the month's days are converted to UTC: year 1 or 9999 would overflow
    return year, month


def local_days(year: int, month: int, tz: ZoneInfo = STOCKHOLM) -> list[tuple[date, float, float]]:
    """Each calendar day of the month with its start and end as epoch seconds (local
    midnight to local midnight, so the DST days are 23 and 25 hours long)."""
    out: list[tuple[date, float, float]] = []
    day = date(year, month, 1)
    while day.month == month:
        nxt = day + timedelta(days=1)
        start = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp()
        out.append((day, start, end))
        day = nxt
    return out


def _overlap(a: float, b: float, lo: float, hi: float) -> float:
    return max(0.0, min(b, hi) - max(a, lo))


def _held_intervals(
    points: Sequence[Point], max_hold: float, until: float, above: float | None = None
) -> list[tuple[float, float]]:
    """Where each reading holds (until the next, at most ``max_hold``); only the readings
    above ``above`` when it is given."""
    out: list[tuple[float, float]] = []
    for i, (t, v) in enumerate(points):
        if above is not None and v <= above:
            continue
        nxt = points[i + 1][0] if i + 1 < len(points) else until
        end = min(nxt, t + max_hold, until)
        if end > t:
            out.append((t, end))
    return out


def _note(a: Any) -> AlertNote:
    return AlertNote(
        a.id,
        a.rule,
        a.severity,
        a.state,
        a.started_at,
        a.resolved_at,
        a.acknowledged_by,
        a.acknowledged_at,
    )


def day_records(
    temps: Sequence[Point],
    doors: Sequence[tuple[float, bool]] | None,
    alerts: Sequence[Any],
    year: int,
    month: int,
    *,
    limit: float,
    max_hold: float,
    now: datetime,
    tz: ZoneInfo = STOCKHOLM,
) -> list[DayRecord]:
    """The month's rows for one device. ``temps`` and ``doors`` are sorted by time and may
    start before the month (the last reading of the previous day holds into the first)."""
    days = local_days(year, month, tz)
    now_s = now.astimezone(UTC).timestamp()
    until = min(now_s, days[-1][2])
    above = _held_intervals(temps, max_hold, until, above=limit)
    held = _held_intervals(temps, max_hold, until)
    opened = true_periods(doors, until, max_hold) if doors is not None else []
    rows: list[DayRecord] = []
    for day, start, end in days:
        if start >= now_s:
            break
        values = [v for t, v in temps if start <= t < end]
        covered = sum(_overlap(a, b, start, end) for a, b in held) / 60
        notes = tuple(
            _note(a)
            for a in sorted(alerts, key=lambda a: a.started_at)
            if start <= a.started_at.timestamp() < end
        )
        rows.append(
            DayRecord(
                day=day,
                hours=(end - start) / 3600,
                readings=len(values),
                min=min(values) if values else None,
                max=max(values) if values else None,
                mean=sum(values) / len(values) if values else None,
                # a day nobody measured is not a day within the limit
                above_limit_min=(
                    sum(_overlap(a, b, start, end) for a, b in above) / 60 if covered else None
                ),
                door_open_min=(
                    sum(_overlap(a, b, start, end) for a, b in opened) / 60
                    if doors is not None
                    else None
                ),
                alerts=notes,
                covered_min=covered,
            )
        )
    return rows
