"""Downsampling and gap finding for charts: pure functions on (epoch seconds, value) points.

A chart is a few hundred pixels wide, a 30-day history of a 1-minute sensor is 43,200
readings. Each time bucket keeps its minimum and its maximum (with their times) rather than a
mean, so a spike that lasted one reading is still drawn: the max over the buckets equals the max
over the raw readings, and so does the min. Before bucketing, a series is cut where the device
was silent for longer than ``max_gap`` seconds, so a silence is drawn as a break in the line,
never as an interpolated slope across it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Bucket",
    "Point",
    "bucket_points",
    "downsample",
    "silent_between",
    "silent_periods",
    "split_at_gaps",
    "true_periods",
]

Point = tuple[float, float]  # (epoch seconds, value)


@dataclass(frozen=True, slots=True)
class Bucket:
    start: float  # bucket start on the grid (epoch seconds)
    count: int
    min: float
    min_t: float
    max: float
    max_t: float
    mean: float


def split_at_gaps(points: Sequence[Point], max_gap: float) -> list[list[Point]]:
    """Runs of ``points`` (sorted by time) with no silence longer than ``max_gap`` inside."""
    runs: list[list[Point]] = []
    current: list[Point] = []
    last_t = -math.inf
    for p in points:
        if current and p[0] - last_t > max_gap:
            runs.append(current)
            current = []
        current.append(p)
        last_t = p[0]
    if current:
        runs.append(current)
    return runs


def downsample(points: Sequence[Point], origin: float, step: float) -> list[Bucket]:
    """Min/max/mean per ``step``-second bucket of a grid starting at ``origin``.

    ``points`` must be sorted by time. Empty buckets are left out (the caller sees the gap).
    """
    if step <= 0:
        raise ValueError("step must be positive")
    out: list[Bucket] = []
    index: int | None = None
    n = 0
    lo = hi = total = 0.0
    lo_t = hi_t = 0.0
    for t, v in points:
        i = math.floor((t - origin) / step)
        if i != index:
            if index is not None:
                out.append(Bucket(origin + index * step, n, lo, lo_t, hi, hi_t, total / n))
            index, n, total = i, 0, 0.0
            lo = hi = v
            lo_t = hi_t = t
        n += 1
        total += v
        if v < lo:
            lo, lo_t = v, t
        if v > hi:
            hi, hi_t = v, t
    if index is not None:
        out.append(Bucket(origin + index * step, n, lo, lo_t, hi, hi_t, total / n))
    return out


def bucket_points(buckets: Sequence[Bucket]) -> list[Point]:
    """The points a line chart draws for ``buckets``: each bucket's min and max, in time order
    (one point when they coincide), so the line reaches every extreme."""
    out: list[Point] = []
    for b in buckets:
        if b.min_t == b.max_t:
            out.append((b.min_t, b.min))
        elif b.min_t < b.max_t:
            out.extend(((b.min_t, b.min), (b.max_t, b.max)))
        else:
            out.extend(((b.max_t, b.max), (b.min_t, b.min)))
    return out


def silent_periods(
    times: Sequence[float], start: float, end: float, max_gap: float
) -> list[tuple[float, float]]:
    """Intervals within [start, end) longer than ``max_gap`` with no reading at all.

    The edges count: a device that was silent from ``start`` to its first reading, or from its
    last reading to ``end``, was silent there too.
    """
    out: list[tuple[float, float]] = []
    prev = start
    for t in times:
        if t - prev > max_gap:
            out.append((prev, t))
        prev = max(prev, t)
    if end - prev > max_gap:
        out.append((prev, end))
    return out


def silent_between(
    spans: Sequence[tuple[float, float]], start: float, end: float, max_gap: float
) -> list[tuple[float, float]]:
    """``silent_periods`` for readings given as (first, last) time spans, oldest first, none
    of which holds a silence longer than ``max_gap`` inside (store buckets split at silences):
    only the time between spans and at the edges can be silent."""
    out: list[tuple[float, float]] = []
    prev = start
    for first, last in spans:
        if first - prev > max_gap:
            out.append((prev, first))
        prev = max(prev, last)
    if end - prev > max_gap:
        out.append((prev, end))
    return out


def true_periods(
    points: Sequence[tuple[float, bool]], end: float, max_hold: float
) -> list[tuple[float, float]]:
    """Intervals in which a boolean metric (a door contact) was true.

    A state holds until the next reading, but never longer than ``max_hold`` after the reading
    that reported it: past that the device was silent and the state is unknown.
    """
    out: list[tuple[float, float]] = []
    opened: float | None = None
    last_t: float | None = None
    for t, value in points:
        if opened is not None and last_t is not None and t - last_t > max_hold:
            out.append((opened, last_t + max_hold))
            opened = None
        if value and opened is None:
            opened = t
        elif not value and opened is not None:
            out.append((opened, t))
            opened = None
        last_t = t
    if opened is not None and last_t is not None:
        out.append((opened, min(end, last_t + max_hold)))
    return out
