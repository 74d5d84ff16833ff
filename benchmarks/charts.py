"""How long a 30-day chart of a 1-minute sensor takes: 43,200 readings to SVG, and the page.

    .venv/bin/python -m benchmarks.charts [--points 43200] [--repeat 5]

Measures, each as the median of ``--repeat`` runs: reading the raw history from the embedded
SQLite store, min/max downsampling + SVG rendering of it (pure), reading the chart's min/max
buckets computed by SQLite instead (``load_chart_history``, what the pages use) and drawing
them, the whole device page over HTTP (signed in) with the 30-day range, and the history API
with ``step=2h``. The device's expected interval is the reading step (60 s by default), so
silences are judged as on a real device.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from fastapi.testclient import TestClient

from dashboards.history import DeviceHistory, device_charts, load_chart_history, load_history
from dashboards.svgchart import render_svg
from ingest.store import StoredReading

T = TypeVar("T")

TOKEN = "benchmark-admin-token-0123456789"  # noqa: S105 (a throwaway platform)
PASSWORD = "bänkens lösenord 123"  # noqa: S105


def _ms(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    times: list[float] = []
    for _ in range(max(repeat, 1)):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=43_200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from gateway.app import create_app
    from gateway.platform import Platform
    from gateway.settings import load_settings

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(days=30)
    step = (now - start) / args.points
    interval_s = max(1, round(step.total_seconds()))
    with tempfile.TemporaryDirectory() as tmp:
        p = Platform(load_settings(data_dir=Path(tmp), admin_token=TOKEN))
        p.start(mqtt=False)
        try:
            client = TestClient(create_app(p), headers={"Authorization": f"Bearer {TOKEN}"})
            client.post("/api/v1/sites", json={"id": "s", "name": "Bänk"})
            client.post(
                "/api/v1/devices",
                json={
                    "id": "bod-1",
                    "type": "technical_shed_temperature",
                    "site_id": "s",
                    "expected_interval_s": interval_s,
                },
            ).raise_for_status()
            readings = [
                StoredReading(
                    "bod-1",
                    start + step * i,
                    "temperature",
                    20 + (i % 700) / 100 + (12 if i == args.points // 3 else 0),
                    "Cel",
                )
                for i in range(args.points)
            ]
            p.store.write(readings)
            fetch_ms, history = _ms(
                lambda: load_history(p.store, "bod-1", ["temperature"], start, now + step),
                args.repeat,
            )

            def chart(hist: DeviceHistory) -> str:
                specs = device_charts(
                    history=hist,
                    metrics=["temperature"],
                    rules=[],
                    alerts=[],
                    start=start.timestamp(),
                    end=now.timestamp(),
                    now=now.timestamp(),
                    interval_s=interval_s,
                )
                return render_svg(specs[0])

            chart_ms, svg = _ms(lambda: chart(history), args.repeat)

            def from_buckets() -> str:
                hist = load_chart_history(
                    p.store, "bod-1", ["temperature"], start, now, interval_s=interval_s
                )
                return chart(hist)

            sql_ms, sql_svg = _ms(from_buckets, args.repeat)
            buckets_ms, by_sql = _ms(
                lambda: load_chart_history(
                    p.store, "bod-1", ["temperature"], start, now, interval_s=interval_s
                ),
                args.repeat,
            )
            bucketed = "SQL buckets" if by_sql.buckets else "raw: the store has no buckets"
            client.post(
                "/api/v1/users", json={"username": "bench", "role": "admin", "password": PASSWORD}
            ).raise_for_status()
            web = TestClient(create_app(p))
            form = web.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            web.post(
                "/login",
                data={
                    "username": "bench",
                    "password": PASSWORD,
                    "csrf_token": csrf[1] if csrf else "",
                },
            )
            page_ms, resp = _ms(lambda: web.get("/devices/bod-1?range=30d"), args.repeat)
            assert 'g class="series"' in resp.text
            assert resp.status_code == 200, resp.text
            api_ms, _ = _ms(
                lambda: client.get(
                    "/api/v1/devices/bod-1/history",
                    params={
                        "from": start.isoformat(),
                        "to": now.isoformat(),
                        "step": "2h",
                        "metric": "temperature",
                    },
                ),
                args.repeat,
            )
        finally:
            p.stop()
    print(f"readings: {args.points} (1 per {step.total_seconds():.0f} s over 30 days)")
    print(f"history from SQLite:         {fetch_ms:8.1f} ms")
    print(f"downsample + SVG (pure):     {chart_ms:8.1f} ms  ({len(svg):,} bytes of SVG)")
    print(f"chart history from SQLite:   {buckets_ms:8.1f} ms  ({bucketed})")
    print(f"  + device_charts + SVG:     {sql_ms:8.1f} ms  ({len(sql_svg):,} bytes of SVG)")
    print(f"device page, 30 d (HTTP):    {page_ms:8.1f} ms  ({len(resp.content):,} bytes)")
    print(f"history API, step 2h (HTTP): {api_ms:8.1f} ms")


if __name__ == "__main__":
    main()
