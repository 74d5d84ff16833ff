"""The Flux behind every generated panel: pure string builders over names we write.

Every query names its measurement (a sensor type key, ``kommunvakt_alerts``,
``kommunvakt_care_devices`` or ``supervision_checks``) and its fields literally
(``r._measurement == "freezer"``, ``r._field == "temperature"``), so a test can check that a
dashboard reads only what ``ingest.line_protocol``, ``gateway.alert_counts`` and
``supervision.counts`` write. No care device's reading is in
InfluxDB (``ingest.care_store``): care units appear only as the counts the platform writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from supervision.counts import MEASUREMENT as SUPERVISION_COUNTS

__all__ = [
    "ALERTS_MEASUREMENT",
    "CARE_DEVICES_MEASUREMENT",
    "OFFLINE_FACTOR",
    "SUPERVISION_MEASUREMENT",
    "Watched",
    "alert_counts",
    "care_counts",
    "flux_string",
    "last_per_device",
    "last_seen",
    "series",
    "supervision_checks",
]

#: measurement the platform writes its open-alert counts to (tags site, severity, state)
ALERTS_MEASUREMENT = "kommunvakt_alerts"
#: measurement of the care-device counts (tag care_unit, fields devices and reporting): care
#: readings themselves never reach InfluxDB
CARE_DEVICES_MEASUREMENT = "kommunvakt_care_devices"
#: tonight's night checks per care unit and status (tags care_unit, status; field count)
SUPERVISION_MEASUREMENT = SUPERVISION_COUNTS
#: a device is offline after this many expected report intervals without a reading
OFFLINE_FACTOR = 3


#: Flux string escapes: backslash, quote and the control characters; ``${`` is escaped too (it
#: would start interpolation). Anything else, non-ASCII included, stands for itself: Flux has
#: no backslash-u escape, so JSON's quoting is not Flux's.
_FLUX_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def flux_string(text: str) -> str:
    """``text`` as a Flux string literal."""
    body = "".join(_FLUX_ESCAPES.get(ch, ch) for ch in text).replace("${", "\\${")
    return f'"{body}"'


_s = flux_string


def _measurements(types: Iterable[str]) -> str:
    return " or ".join(f"r._measurement == {_s(t)}" for t in sorted(types))


def series(bucket: str, measurement: str, field: str, site: str, *, as_int: bool = False) -> str:
    """One series per device over the dashboard's time range (mean per window for numbers)."""
    agg = "last" if as_int else "mean"
    conv = "\n  |> toInt()" if as_int else ""
    return (
        f"from(bucket: {_s(bucket)})\n"
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
        f"  |> filter(fn: (r) => r._measurement == {_s(measurement)} and r._field == {_s(field)}"
        f" and r.site == {_s(site)}){conv}\n"
        f"  |> aggregateWindow(every: v.windowPeriod, fn: {agg}, createEmpty: false)\n"
        '  |> keep(columns: ["_time", "_value", "device", "place"])'
    )


def last_per_device(bucket: str, measurement_types: Iterable[str], field: str, site: str | None,
                    *, as_int: bool = False) -> str:  # fmt: skip
    """The newest value of ``field`` per device (a table row or a stat per device)."""
    site_filter = f" and r.site == {_s(site)}" if site is not None else ""
    conv = "\n  |> toInt()" if as_int else ""
    return (
        f"from(bucket: {_s(bucket)})\n"
        "  |> range(start: -30d)\n"
        f"  |> filter(fn: (r) => ({_measurements(measurement_types)}) and r._field == {_s(field)}"
        f"{site_filter})\n"
        f"  |> last(){conv}\n"
        '  |> keep(columns: ["_value", "device", "place", "site"])\n'
        "  |> group()"
    )


#: seconds since the row's newest reading (int(v: time) is nanoseconds since the epoch)
_AGE_S = "(int(v: now()) - int(v: r._time)) / 1000000000"


@dataclass(frozen=True, slots=True)
class Watched:
    """A device the registry expects to hear from, with its series tags."""

    device: str
    type: str
    site: str | None
    place: str | None
    expected_interval_s: int


def _registered(devices: Sequence[Watched]) -> str:
    rows = ",\n".join(
        f"    {{device: {_s(d.device)}, type: {_s(d.type)}, site: {_s(d.site or '')}, "
        f"place: {_s(d.place or '')}, limit_s: {OFFLINE_FACTOR * d.expected_interval_s}}}"
        for d in sorted(devices, key=lambda d: d.device)
    )
    return f"array.from(rows: [\n{rows},\n  ])"


def last_seen(bucket: str, devices: Sequence[Watched], *, offline_only: bool = False) -> str:
    """Per registered device: when it last reported, how long ago, and whether that makes it
    offline. The devices come from the registry (the dashboards are regenerated when it
    changes): a device silent since before any window still has its row (offline), and a
    retired device's old readings count for nothing. The readings are searched over the whole
    retention: InfluxDB hands ``range |> filter |> last()`` to its storage engine.

    ``_value`` is dropped before grouping: a device's fields have different types (a freezer's
    float temperature and bool door), which Flux refuses to merge into one table.
    """
    if not devices:
        raise ValueError("last_seen needs at least one device (Flux has no empty array.from)")
    # 0/1 summed, not filtered rows counted: no offline device reads 0, not "no data"
    tail = (
        "  |> map(fn: (r) => ({_value: if r.offline then 1 else 0}))\n  |> sum()"
        if offline_only
        else '  |> sort(columns: ["offline", "age_s"], desc: true)'
    )
    types = {d.type for d in devices}
    return (
        'import "array"\n'
        'import "join"\n\n'
        f"heard = from(bucket: {_s(bucket)})\n"
        "  |> range(start: 1970-01-01T00:00:00Z)\n"
        f"  |> filter(fn: (r) => {_measurements(types)})\n"
        "  |> last()\n"
        '  |> keep(columns: ["_time", "device"])\n'
        '  |> group(columns: ["device"])\n'
        '  |> sort(columns: ["_time"])\n'
        '  |> last(column: "_time")\n'
        "  |> group()\n\n"
        f"join.left(\n  left: {_registered(devices)},\n  right: heard,\n"
        "  on: (l, r) => l.device == r.device,\n"
        "  as: (l, r) => ({l with _time: r._time}),\n)\n"
        f"  |> map(fn: (r) => ({{r with age_s: if exists r._time then {_AGE_S} else -1}}))\n"
        "  |> map(fn: (r) => ({r with offline: r.age_s < 0 or r.age_s > r.limit_s}))\n"
        f"{tail}"
    )  # fmt: skip


def supervision_checks(bucket: str) -> str:
    """Tonight's night checks per care unit and status, counts only (``supervision.counts``
    writes them each minute): one row per care unit, one column per status."""
    return (
        f"from(bucket: {_s(bucket)})\n"
        "  |> range(start: -1h)\n"
        f"  |> filter(fn: (r) => r._measurement == {_s(SUPERVISION_MEASUREMENT)}"
        ' and r._field == "count")\n'
        "  |> last()\n"
        '  |> keep(columns: ["care_unit", "status", "_value"])\n'
        "  |> group()\n"
        '  |> pivot(rowKey: ["care_unit"], columnKey: ["status"], valueColumn: "_value")\n'
        '  |> sort(columns: ["care_unit"])'
    )  # fmt: skip


def care_counts(bucket: str) -> str:
    """Care units as counts only: per care unit, how many care devices there are and how many
    report, from the counts the platform writes each minute (``gateway.alert_counts``); care
    readings are not in InfluxDB at all."""
    return (
        f"from(bucket: {_s(bucket)})\n"
        "  |> range(start: -1h)\n"
        f"  |> filter(fn: (r) => r._measurement == {_s(CARE_DEVICES_MEASUREMENT)}"
        ' and (r._field == "devices" or r._field == "reporting"))\n'
        "  |> last()\n"
        '  |> group(columns: ["care_unit"])\n'
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
        '  |> keep(columns: ["care_unit", "reporting", "devices"])\n'
        "  |> group()"
    )  # fmt: skip


def alert_counts(bucket: str, site: str | None = None) -> str:
    """Open alerts by state and severity, from the counts the platform writes each minute."""
    site_filter = f" and r.site == {_s(site)}" if site is not None else ""
    return (
        f"from(bucket: {_s(bucket)})\n"
        "  |> range(start: -1h)\n"
        f'  |> filter(fn: (r) => r._measurement == {_s(ALERTS_MEASUREMENT)} and r._field == "open"'
        f"{site_filter})\n"
        "  |> last()\n"
        '  |> group(columns: ["state", "severity"])\n'
        "  |> sum()"
    )
