"""Min/max buckets computed in SQL (``SqliteReadingStore.history_buckets``) draw what the raw
readings draw: every spike, every silence, the same door bands, on the real SQLite store."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.downsample import (
    bucket_points,
    downsample,
    silent_between,
    silent_periods,
    split_at_gaps,
)
from dashboards.history import (
    GAP_FACTOR,
    bucket_segments,
    device_charts,
    load_chart_history,
    load_history,
)
from dashboards.svgchart import render_svg
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import LatestValue, StoredReading
from tests.support.platform import TOKEN

T0_US = 1_790_000_000_000_000  # µs, November 2026
_ids = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteReadingStore]:
    s = SqliteReadingStore(tmp_path_factory.mktemp("buckets") / "readings.db")
    yield s
    s.close()


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


_values = st.one_of(
    st.floats(min_value=-60, max_value=60, allow_nan=False, allow_infinity=False),
    st.sampled_from([-20.0, 0.0, 4.5]),  # equal minima and maxima: the first one's time counts
)


@st.composite
def _series(draw: st.DrawFn) -> list[tuple[int, float]]:
    gaps = draw(st.lists(st.integers(1, 3_000_000_000), min_size=1, max_size=400))
    values = draw(st.lists(_values, min_size=len(gaps), max_size=len(gaps)))
    out, t = [], T0_US
    for gap, value in zip(gaps, values, strict=True):
        t += gap
        out.append((t, value))
    return out


@settings(max_examples=300, deadline=None)
@given(
    series=_series(),
    buckets=st.integers(min_value=1, max_value=60),
    max_gap=st.floats(min_value=1, max_value=3000),
    before=st.integers(0, 2_000_000_000),
    after=st.integers(1, 2_000_000_000),
)
def test_sql_buckets_equal_the_raw_path(
    store: SqliteReadingStore,
    series: list[tuple[int, float]],
    buckets: int,
    max_gap: float,
    before: int,
    after: int,
) -> None:
    device = f"d{next(_ids)}"
    store.write([StoredReading(device, _at(t), "temperature", v, "Cel") for t, v in series])
    start, end = _at(series[0][0] - before), _at(series[-1][0] + after)
    origin, stop = start.timestamp(), end.timestamp()
    step = (stop - origin) / buckets
    raw = load_history(store, device, ["temperature"], start, end).numeric["temperature"]
    assert len(raw) == len(series)

    # the history API's buckets (no split): exactly those of downsample over the raw readings
    flat = store.history_buckets(device, "temperature", start, end, step)
    expected = downsample(raw, origin, step)
    assert [(b.start, b.count, b.min, b.min_t, b.max, b.max_t) for b in flat] == [
        (b.start, b.count, b.min, b.min_t, b.max, b.max_t) for b in expected
    ]
    assert [b.mean for b in flat] == pytest.approx([b.mean for b in expected])
    assert {b.unit for b in flat} == {"Cel"}

    # the chart's buckets, split at silences: the spikes, the line and the gaps of the raw path
    got = store.history_buckets(device, "temperature", start, end, step, split_gap_s=max_gap)
    assert max(b.max for b in got) == max(v for _, v in raw)
    assert min(b.min for b in got) == min(v for _, v in raw)
    assert sum(b.count for b in got) == len(raw)
    runs = split_at_gaps(raw, max_gap)
    assert bucket_segments(got, max_gap) == tuple(
        tuple(bucket_points(downsample(run, origin, step))) for run in runs
    )
    for b in got:  # no entry spans a silence
        inside = [t for t, _ in raw if b.first_t <= t <= b.last_t]
        assert all(y - x <= max_gap for x, y in itertools.pairwise(inside))
        assert (inside[0], inside[-1], len(inside)) == (b.first_t, b.last_t, b.count)
    spans = [(b.first_t, b.last_t) for b in got]
    assert silent_between(spans, origin, stop, max_gap) == silent_periods(
        [t for t, _ in raw], origin, stop, max_gap
    )


def test_only_finite_numbers_of_the_range_are_bucketed(store: SqliteReadingStore) -> None:
    t = [_at(T0_US + i * 60_000_000) for i in range(6)]
    store.write(
        [
            StoredReading("mixed", t[0], "temperature", 1.0, "Cel"),
            StoredReading("mixed", t[1], "temperature", float("inf"), "Cel"),
            StoredReading("mixed", t[2], "temperature", True),
            StoredReading("mixed", t[3], "temperature", "fel"),
            StoredReading("mixed", t[4], "temperature", -2.0, "Cel"),
            StoredReading("mixed", t[5], "temperature", 99.0, "Cel"),  # at the end: outside
            StoredReading("mixed", t[1], "humidity", 50.0, "%RH"),
        ]
    )
    got = store.history_buckets("mixed", "temperature", t[0], t[5], 3600)
    assert [(b.count, b.min, b.max, b.mean) for b in got] == [(2, -2.0, 1.0, -0.5)]
    assert store.history_buckets("mixed", "door_open", t[0], t[5], 3600) == []
    with pytest.raises(ValueError, match="positive"):
        store.history_buckets("mixed", "temperature", t[0], t[5], 0)


# -- a month of minute readings with real silences, as the 30-day page draws it ---------------

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
START = NOW - timedelta(days=30)
LONG_SILENCE = (10_080, 10_260)  # 3 hours missing, one 2-hour bucket of them empty
SHORT_SILENCE = (30_005, 30_009)  # 4 minutes missing: 5 min between readings, inside a bucket
SPIKE = 21_111


def _month(device: str) -> list[StoredReading]:
    out = []
    for i in range(30 * 24 * 60):
        if LONG_SILENCE[0] <= i < LONG_SILENCE[1] or SHORT_SILENCE[0] <= i < SHORT_SILENCE[1]:
            continue
        t = START + timedelta(minutes=i)
        temp = -20.0 + (i % 97) / 100 + (14.5 if i == SPIKE else 0)
        out.append(StoredReading(device, t, "temperature", temp, "Cel"))
        door = 5_000 <= i < 5_012 or 40_000 <= i < 40_003  # two door openings
        out.append(StoredReading(device, t, "door_open", door))
    return out


def _charts(history: Any, small: bool = False) -> list[Any]:
    return device_charts(
        history=history,
        metrics=["temperature", "door_open", "battery"],
        rules=[],
        alerts=[],
        start=START.timestamp(),
        end=NOW.timestamp(),
        now=NOW.timestamp(),
        interval_s=60,
        small=small,
    )


def test_a_month_with_silences_draws_the_same_from_sql(store: SqliteReadingStore) -> None:
    store.write(_month("frys-30d"))
    metrics = ["temperature", "door_open", "battery"]
    fast = load_chart_history(store, "frys-30d", metrics, START, NOW, interval_s=60)
    slow = load_history(store, "frys-30d", metrics, START, NOW)
    assert "temperature" in fast.buckets
    assert "temperature" not in fast.numeric
    assert len(fast.buckets["temperature"]) <= 360 + 2  # one bucket per 2 h, two split
    assert fast.units["temperature"] == "Cel"
    assert "door_open" in fast.boolean  # door contacts stay raw

    (chart,) = _charts(fast)
    assert chart == _charts(slow)[0]
    assert render_svg(chart) == render_svg(_charts(slow)[0])

    segments = chart.series[0].segments
    assert len(segments) == 3  # broken at the 3-hour and at the 5-minute silence
    drawn = [v for seg in segments for _, v in seg]
    assert max(drawn) == pytest.approx(-20.0 + (SPIKE % 97) / 100 + 14.5)
    assert len(drawn) <= 2 * (360 + 2)
    minute = 60.0
    t0 = START.timestamp()
    assert [(p.start, p.end) for p in chart.silent_periods] == [
        (t0 + (LONG_SILENCE[0] - 1) * minute, t0 + LONG_SILENCE[1] * minute),
        (t0 + (SHORT_SILENCE[0] - 1) * minute, t0 + SHORT_SILENCE[1] * minute),
    ]
    assert SHORT_SILENCE[1] - SHORT_SILENCE[0] + 1 > GAP_FACTOR  # longer than the threshold
    assert [(p.start, p.end) for p in chart.door_periods] == [
        (t0 + 5_000 * minute, t0 + 5_012 * minute),
        (t0 + 40_000 * minute, t0 + 40_003 * minute),
    ]

    # the site overview's small 24-hour chart, 90 buckets
    day = NOW - timedelta(hours=24)
    small = load_chart_history(store, "frys-30d", metrics, day, NOW, interval_s=60, buckets=90)
    assert "temperature" in small.buckets
    raw_day = load_history(store, "frys-30d", metrics, day, NOW)
    kwargs = {"start": day.timestamp(), "end": NOW.timestamp(), "now": NOW.timestamp()}
    assert device_charts(**{**_common(small), **kwargs}) == device_charts(
        **{**_common(raw_day), **kwargs}
    )


def _common(history: Any) -> dict[str, Any]:
    return {
        "history": history,
        "metrics": ["temperature", "door_open"],
        "rules": [],
        "alerts": [],
        "interval_s": 60,
        "small": True,
    }


def test_sparse_ranges_and_other_stores_are_read_raw(store: SqliteReadingStore) -> None:
    store.write(_month("frys-sparse"))
    day = NOW - timedelta(hours=6)  # 360 readings: drawn raw, so read raw
    h = load_chart_history(store, "frys-sparse", ["temperature"], day, NOW, interval_s=60)
    assert not h.buckets
    assert len(h.numeric["temperature"]) == 360
    plain = _RawOnly(store)
    h = load_chart_history(plain, "frys-sparse", ["temperature"], START, NOW, interval_s=60)
    assert not h.buckets
    assert len(h.numeric["temperature"]) == 30 * 24 * 60 - 180 - 4


class _RawOnly:
    """A reading store without ``history_buckets`` (as InfluxDB behind the spool is)."""

    def __init__(self, inner: SqliteReadingStore) -> None:
        self.inner = inner
        self.bucket_calls = 0

    def write(self, readings: Any) -> None:
        self.inner.write(readings)

    def latest(self, device_id: str) -> list[LatestValue]:
        return self.inner.latest(device_id)

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]:
        return self.inner.history(device_id, metric, start, end)

    def count(self) -> int:
        return self.inner.count()

    def close(self) -> None:
        self.inner.close()


# -- over HTTP: the platform's store answers the page and the history API with buckets ---------

Calls = list[tuple[str, float | None]]
PASSWORD = "frysen ska vara kall 18"


@pytest.fixture
def shed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, TestClient, Calls]]:
    from gateway.app import create_app
    from gateway.platform import Platform
    from gateway.settings import load_settings

    calls: Calls = []
    real = SqliteReadingStore.history_buckets

    def counted(self: SqliteReadingStore, *args: Any, **kwargs: Any) -> Any:
        calls.append((args[1], kwargs.get("split_gap_s")))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SqliteReadingStore, "history_buckets", counted)
    p = Platform(load_settings(data_dir=tmp_path / "data", admin_token=TOKEN), clock=lambda: NOW)
    p.start(mqtt=False)
    with TestClient(create_app(p), headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        c.post("/api/v1/sites", json={"id": "s", "name": "Skolan"}).raise_for_status()
        c.post(
            "/api/v1/devices",
            json={"id": "frys-9", "type": "freezer", "site_id": "s", "expected_interval_s": 60},
        ).raise_for_status()
        p.store.write(_month("frys-9"))
        yield p, c, calls
    p.stop()


def test_history_api_buckets_come_from_sql(shed: tuple[Any, TestClient, Calls]) -> None:
    p, c, calls = shed
    params = {"from": START.isoformat(), "to": NOW.isoformat(), "step": "2h"}
    r = c.get("/api/v1/devices/frys-9/history", params=params)
    assert r.status_code == 200, r.text
    assert ("temperature", None) in calls, "the platform's store did not answer with buckets"
    series = {s["metric"]: s for s in r.json()["series"]}
    buckets = series["temperature"]["buckets"]
    raw = load_history(p.store, "frys-9", ["temperature"], START, NOW).numeric["temperature"]
    expected = downsample(raw, START.timestamp(), 7200)
    assert [(b["count"], b["min"], b["max"]) for b in buckets] == [
        (b.count, b.min, b.max) for b in expected
    ]
    assert len(buckets) == 360 - 1  # the 3-hour silence empties one 2-hour bucket
    assert max(b["max"] for b in buckets) == max(v for _, v in raw)
    assert series["temperature"]["unit"] == "Cel"
    assert [p["value"] for p in series["door_open"]["points"]] == [False, True, False, True, False]


def test_device_page_30d_is_drawn_from_sql(shed: tuple[Any, TestClient, Calls]) -> None:
    _, c, calls = shed
    c.post(
        "/api/v1/users", json={"username": "frys", "role": "admin", "password": PASSWORD}
    ).raise_for_status()
    web = TestClient(c.app)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text)
    assert csrf
    form = {"username": "frys", "password": PASSWORD, "csrf_token": csrf[1]}
    assert web.post("/login", data=form, follow_redirects=False).status_code == 303
    r = web.get("/devices/frys-9?range=30d")
    assert r.status_code == 200, r.text
    assert ("temperature", 150.0) in calls, "the platform's store did not answer with buckets"
    assert r.text.count('<rect class="silent"') == 2  # the 3-hour and the 5-minute silence
    assert r.text.count('<rect class="door-open"') == 2
    assert r.text.count('class="segment"') == 3
