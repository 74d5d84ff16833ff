"""Downsampling keeps every spike; silences break the line; door bands end when the door does."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.downsample import (
    bucket_points,
    downsample,
    silent_periods,
    split_at_gaps,
    true_periods,
)
from dashboards.history import series_segments

_values = st.floats(min_value=-60, max_value=60, allow_nan=False, allow_infinity=False)


@st.composite
def _series(draw: st.DrawFn) -> list[tuple[float, float]]:
    gaps = draw(st.lists(st.floats(min_value=0.001, max_value=5000), min_size=1, max_size=400))
    values = draw(st.lists(_values, min_size=len(gaps), max_size=len(gaps)))
    t, out = 1_790_000_000.0, []
    for gap, value in zip(gaps, values, strict=True):
        t += gap
        out.append((t, value))
    return out


@settings(max_examples=300, deadline=None)
@given(points=_series(), buckets=st.integers(min_value=1, max_value=500))
def test_bucket_extremes_equal_raw_extremes(
    points: list[tuple[float, float]], buckets: int
) -> None:
    start, end = points[0][0], points[-1][0] + 1
    step = (end - start) / buckets
    got = downsample(points, start, step)
    assert max(b.max for b in got) == max(v for _, v in points)
    assert min(b.min for b in got) == min(v for _, v in points)
    assert sum(b.count for b in got) == len(points)
    assert len(got) <= buckets
    drawn = bucket_points(got)
    assert max(v for _, v in drawn) == max(v for _, v in points)
    assert min(v for _, v in drawn) == min(v for _, v in points)
    assert [t for t, _ in drawn] == sorted(t for t, _ in drawn)


@settings(max_examples=200, deadline=None)
@given(points=_series(), max_gap=st.floats(min_value=1, max_value=3000))
def test_chart_segments_keep_extremes_and_break_at_every_silence(
    points: list[tuple[float, float]], max_gap: float
) -> None:
    start, end = points[0][0], points[-1][0] + 1
    segs = series_segments(points, start, end, max_gap, buckets=20)
    drawn = [p for seg in segs for p in seg]
    assert max(v for _, v in drawn) == max(v for _, v in points)
    assert min(v for _, v in drawn) == min(v for _, v in points)
    silences = sum(1 for a, b in itertools.pairwise(points) if b[0] - a[0] > max_gap)
    assert len(segs) == silences + 1
    for seg in segs:  # never a line across a silence
        assert all(b[0] - a[0] <= max_gap for a, b in itertools.pairwise(seg))


def test_a_one_reading_spike_in_a_month_of_minutes_survives() -> None:
    t0 = 1_790_000_000.0
    points = [(t0 + 60 * i, -20.0) for i in range(43_200)]
    points[31_337] = (points[31_337][0], -4.5)
    segs = series_segments(points, t0, t0 + 30 * 86400, max_gap=150, buckets=360)
    drawn = [p for seg in segs for p in seg]
    assert len(segs) == 1
    assert len(drawn) <= 2 * 360
    assert max(v for _, v in drawn) == -4.5


def test_split_and_silences() -> None:
    pts = [(0.0, 1.0), (10.0, 1.0), (100.0, 2.0), (105.0, 3.0)]
    assert split_at_gaps(pts, 25) == [pts[:2], pts[2:]]
    assert silent_periods([0.0, 10.0, 100.0, 105.0], 0, 200, 25) == [(10.0, 100.0), (105.0, 200)]
    assert silent_periods([], 0, 20, 25) == []


def test_door_open_periods_hold_until_closed_or_silent() -> None:
    events = [(0.0, False), (100.0, True), (160.0, True), (220.0, False), (500.0, True)]
    assert true_periods(events, end=10_000, max_hold=1500) == [(100.0, 220.0), (500.0, 2000.0)]
    # a door that reported open and then went silent is not counted open for ever
    assert true_periods([(0.0, True), (5000.0, False)], end=9000, max_hold=1500) == [(0.0, 1500.0)]
