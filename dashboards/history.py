"""From stored readings, rules and alerts to what a chart draws.

The reading store, the alert store and the rule engine are read at the edges (``load_*``);
everything else is a function of its inputs and ``now``. A chart of many readings is read as
min/max buckets computed by the store (``load_chart_history``) where the store can
(``BucketedHistory``: SQL in the embedded store, Flux in InfluxDB), else as raw readings
downsampled here. Rule thresholds are read defensively: the alerts package grows new rule
kinds, and a rule without numeric ``levels`` simply draws no threshold line.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.i18n import metric_name
from dashboards.downsample import (
    Bucket,
    Point,
    bucket_points,
    downsample,
    silent_between,
    silent_periods,
    split_at_gaps,
    true_periods,
)
from dashboards.svgchart import ChartSpec, Period, Series, Threshold
from ingest.store import BucketedHistory, HistoryBucket, ReadingStore, StoredReading

__all__ = [
    "CHART_BUCKETS",
    "GAP_FACTOR",
    "RANGES",
    "SMALL_CHART_BUCKETS",
    "DeviceHistory",
    "alert_periods",
    "bucket_segments",
    "device_charts",
    "device_state",
    "load_chart_history",
    "load_history",
    "metric_label",
    "parse_step",
    "rules_of",
    "series_segments",
    "thresholds_for",
    "unit_label",
]

log = logging.getLogger(__name__)

RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600, "7d": 7 * 86400, "30d": 30 * 86400}
CHART_BUCKETS = 360  # about one bucket per 1.5 px of the chart's plot area
SMALL_CHART_BUCKETS = 90  # the site overview's small charts
GAP_FACTOR = 2.5  # a silence longer than 2.5 report intervals breaks the line
DIAGNOSTIC = frozenset({"battery", "rssi", "snr", "voltage", "online"})
DOOR_METRICS = frozenset({"door_open"})

_UNITS = {"Cel": "°C", "%RH": "%", "%EL": "%", "%": "%", "ppm": "ppm", "lx": "lx", "Pa": "Pa"}


def metric_label(metric: str, lang: str = "sv") -> str:
    if metric == "timeline":
        return "Door" if lang == "en" else "Dörr"
    return metric_name(metric, lang)


def unit_label(unit: str | None) -> str:
    return _UNITS.get(unit or "", unit or "")


def parse_step(text: str) -> float:
    """``300``, ``300s``, ``5m``, ``1h`` or ``1d`` as seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m:
        raise ValueError(f"step {text!r}: use seconds or a number with s, m, h or d (e.g. 5m)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@dataclass(frozen=True, slots=True)
class DeviceHistory:
    numeric: dict[str, list[Point]]
    boolean: dict[str, list[tuple[float, bool]]]
    units: dict[str, str | None]
    # metrics the store aggregated (``load_chart_history``), split at silences; not in numeric
    buckets: dict[str, list[HistoryBucket]] = field(default_factory=dict)


def split_readings(readings: Iterable[StoredReading]) -> DeviceHistory:
    numeric: dict[str, list[Point]] = {}
    boolean: dict[str, list[tuple[float, bool]]] = {}
    units: dict[str, str | None] = {}
    for r in readings:
        units.setdefault(r.metric, r.unit)
        if isinstance(r.value, bool):
            boolean.setdefault(r.metric, []).append((r.time.timestamp(), r.value))
        elif isinstance(r.value, int | float) and math.isfinite(r.value):
            numeric.setdefault(r.metric, []).append((r.time.timestamp(), float(r.value)))
    return DeviceHistory(numeric, boolean, units)


def load_history(
    store: ReadingStore, device_id: str, metrics: Iterable[str], start: datetime, end: datetime
) -> DeviceHistory:
    readings: list[StoredReading] = []
    for metric in dict.fromkeys(metrics):
        readings.extend(store.history(device_id, metric, start, end))
    return split_readings(readings)


def load_chart_history(
    store: ReadingStore,
    device_id: str,
    metrics: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    interval_s: float,
    buckets: int = CHART_BUCKETS,
) -> DeviceHistory:
    """What ``device_charts`` draws from [start, end) in ``buckets`` buckets.

    A numeric metric whose range holds more than ``2 * buckets`` readings (estimated from
    ``interval_s``, then counted) comes as min/max buckets computed by the store, split at
    every silence longer than ``GAP_FACTOR * interval_s``: the same points ``series_segments``
    draws from the raw readings, without reading them one by one. Door contacts (few changes
    to draw), sparse metrics and stores without ``BucketedHistory`` are read raw. Diagnostic
    metrics (battery, signal), which are never charted, are not read.
    """
    wanted = [m for m in dict.fromkeys(metrics) if m not in DIAGNOSTIC]
    span = end.timestamp() - start.timestamp()  # as device_charts computes its grid
    max_gap = GAP_FACTOR * interval_s
    bucketed: dict[str, list[HistoryBucket]] = {}
    units: dict[str, str | None] = {}
    dense = span > 2 * buckets * interval_s
    if dense and span > 0 and isinstance(store, BucketedHistory):
        for metric in wanted:
            if metric in DOOR_METRICS:
                continue
            got = store.history_buckets(
                device_id, metric, start, end, span / buckets, split_gap_s=max_gap
            )
            if got and sum(b.count for b in got) > 2 * buckets:
                bucketed[metric] = list(got)
                units[metric] = got[0].unit
    raw = load_history(store, device_id, [m for m in wanted if m not in bucketed], start, end)
    return DeviceHistory(raw.numeric, raw.boolean, {**raw.units, **units}, bucketed)


def bucket_segments(
    buckets: Sequence[HistoryBucket], max_gap: float
) -> tuple[tuple[Point, ...], ...]:
    """The runs of a line drawn from store buckets that never span a silence (see
    ``BucketedHistory``): a new run wherever a bucket's first reading comes more than
    ``max_gap`` after the previous bucket's last, each bucket drawn as its min and max."""
    runs: list[list[Bucket]] = []
    last_t = -math.inf
    for b in buckets:
        if not runs or b.first_t - last_t > max_gap:
            runs.append([])
        runs[-1].append(Bucket(b.start, b.count, b.min, b.min_t, b.max, b.max_t, b.mean))
        last_t = b.last_t
    return tuple(tuple(bucket_points(run)) for run in runs)


def series_segments(
    points: Sequence[Point], start: float, end: float, max_gap: float, buckets: int = CHART_BUCKETS
) -> tuple[tuple[Point, ...], ...]:
    """The runs of a line, cut at silences, each run min/max-downsampled when it is dense."""
    runs = split_at_gaps(points, max_gap)
    if len(points) <= 2 * buckets:
        return tuple(tuple(run) for run in runs)
    step = (end - start) / buckets
    return tuple(tuple(bucket_points(downsample(run, start, step))) for run in runs)


def rules_of(engine: Any, device: Any) -> list[Any]:
    """The engine's effective rules for a device (its ``DeviceInfo``, so site and device
    overrides apply) or a type name; a rule kind we cannot read is not an error here."""
    try:
        return list(engine.rules_for(device))
    except Exception:
        log.warning("cannot read the rules of %s", getattr(device, "id", device), exc_info=True)
        return []


def thresholds_for(rules: Iterable[Any], metric: str) -> list[Threshold]:
    out: list[Threshold] = []
    for rule in rules:
        if getattr(rule, "metric", None) != metric:
            continue
        levels = getattr(rule, "levels", None)
        if not isinstance(levels, tuple | list):
            continue
        for level in levels:
            try:
                severity, limit = level
                out.append(Threshold(str(severity), float(limit)))
            except (TypeError, ValueError):
                continue
    return out


def alert_periods(
    alerts: Iterable[Any], start: float, end: float, now: float, highlight: int | None = None
) -> dict[str, list[Period]]:
    """Alert periods overlapping [start, end) per metric; an open alert lasts until ``now``."""
    out: dict[str, list[Period]] = {}
    for a in alerts:
        a_start = a.started_at.timestamp()
        a_end = a.resolved_at.timestamp() if a.resolved_at is not None else now
        if a_end < start or a_start >= end:
            continue
        label = f"{a.rule}: {a.severity} ({a.state})"
        period = Period(a_start, a_end, label, a.severity, str(a.id), a.id == highlight)
        out.setdefault(a.metric, []).append(period)
    return out


def device_charts(
    *,
    history: DeviceHistory,
    metrics: Sequence[str],
    rules: Sequence[Any],
    alerts: Sequence[Any],
    start: float,
    end: float,
    now: float,
    interval_s: float,
    lang: str = "sv",
    highlight: int | None = None,
    extra_thresholds: dict[str, Threshold] | None = None,
    small: bool = False,
    state: str = "ok",
) -> list[ChartSpec]:
    """One chart per numeric metric worth looking at; door-open periods on every chart."""
    max_gap = GAP_FACTOR * interval_s
    ruled = {getattr(r, "metric", None) for r in rules}
    candidates = [
        m
        for m in dict.fromkeys([*metrics, *history.numeric, *history.buckets])
        if m not in DIAGNOSTIC
    ]
    charted = [
        m for m in candidates if history.numeric.get(m) or history.buckets.get(m) or m in ruled
    ]
    charted = [m for m in charted if m not in history.boolean and m not in DOOR_METRICS]
    doors: list[Period] = []
    door_label = metric_label("door_open", lang)
    for metric in DOOR_METRICS & history.boolean.keys():
        doors += [
            Period(a, b, door_label) for a, b in true_periods(history.boolean[metric], end, max_gap)
        ]
    if not charted and (doors or DOOR_METRICS & set(metrics)):
        charted = ["timeline"]
    by_metric = alert_periods(alerts, start, end, now, highlight)
    unplaced = [p for m, ps in by_metric.items() if m not in charted for p in ps]
    charts: list[ChartSpec] = []
    for i, metric in enumerate(charted):
        points = history.numeric.get(metric, [])
        thresholds = thresholds_for(rules, metric)
        extra = (extra_thresholds or {}).get(metric)
        if extra is not None and all(abs(t.value - extra.value) > 1e-9 for t in thresholds):
            thresholds.append(extra)
        series: tuple[Series, ...] = ()
        store_buckets = history.buckets.get(metric)
        if store_buckets:
            segs = bucket_segments(store_buckets, max_gap)
            spans = [(b.first_t, b.last_t) for b in store_buckets]
            silent = silent_between(spans, start, min(end, now), max_gap)
        else:
            n_buckets = SMALL_CHART_BUCKETS if small else CHART_BUCKETS
            segs = series_segments(points, start, end, max_gap, n_buckets)
            silent = silent_periods([t for t, _ in points], start, min(end, now), max_gap)
        if metric != "timeline":
            series = (Series(metric, metric_label(metric, lang), segs),)
        periods_here = by_metric.get(metric, []) + (unplaced if i == 0 else [])
        charts.append(
            ChartSpec(
                start=start,
                end=end,
                series=series,
                unit=unit_label(history.units.get(metric)),
                title=metric_label(metric, lang),
                thresholds=tuple(thresholds),
                alert_periods=tuple(periods_here),
                door_periods=tuple(doors),
                silent_periods=tuple(Period(a, b) for a, b in silent) if series else (),
                state=state,
                small=small,
            )
        )
    return charts


def device_state(
    open_alerts: Iterable[Any], latest_time: float | None, now: float, interval_s: float
) -> str:
    """critical / warning (worst open alert), silent (no reading for 2.5 intervals), unknown
    (never reported) or ok: what a site overview colours a sensor by."""
    severities = {a.severity for a in open_alerts if a.state != "resolved"}
    if "critical" in severities:
        return "critical"
    if severities:
        return "warning"
    if latest_time is None:
        return "unknown"
    if now - latest_time > GAP_FACTOR * interval_s:
        return "silent"
    return "ok"
