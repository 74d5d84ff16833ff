"""The InfluxDB write path against a real server speaking /api/v2/write (VictoriaMetrics).

Every reading must arrive exactly once, with its measurement, tags and field, including while
the server is stopped and started again under the spool.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.errors import StoreError
from ingest.influx_store import InfluxReadingStore
from ingest.line_protocol import SeriesTags, to_ms
from ingest.spool import SpooledStore
from ingest.store import StoredReading
from tests.support.net import wait_for
from tests.support.victoriametrics import VictoriaMetrics

TAGS = {
    "shed-1": SeriesTags(
        "technical_shed_temperature",
        "shed-1",
        "technical_shed_temperature",
        "skola-1",
        "Teknikbod norr",
    ),
    "frys-1": SeriesTags("freezer", "frys-1", "freezer", "kok-1", "Kök, frys 2"),
    "bed-1": SeriesTags("bed_sensor", "bed-1", "bed_sensor", "enhet-3", None),
}


def influx(vm: VictoriaMetrics, **kwargs: object) -> InfluxReadingStore:
    return InfluxReadingStore(
        vm.url,
        "test-token",
        "kommunvakt",
        "kommunvakt",
        tags_for=TAGS.get,
        timeout_ms=3000,
        **kwargs,  # type: ignore[arg-type]
    )


def wait_samples(
    vm: VictoriaMetrics, n: int, timeout: float = 30
) -> list[tuple[str, dict[str, str], int, float]]:
    def enough() -> list[tuple[str, dict[str, str], int, float]] | None:
        got = vm.samples()
        return got if len(got) >= n else None

    result = wait_for(enough, timeout, interval=0.3, what=f"{n} samples in victoria-metrics")
    assert isinstance(result, list)
    return result


def test_points_carry_measurement_tags_and_fields(vm: VictoriaMetrics) -> None:
    now = datetime.now(UTC).replace(microsecond=123456) - timedelta(minutes=5)
    store = influx(vm)
    store.write(
        [
            StoredReading("shed-1", now, "temperature", 26.5, "Cel"),
            StoredReading("shed-1", now, "humidity", 40.0, "%RH"),
            StoredReading("frys-1", now, "temperature", -19.0, "Cel"),
            StoredReading("frys-1", now, "door_open", True),
            StoredReading("bed-1", now, "in_bed", False),
        ]
    )
    store.close()
    samples = wait_samples(vm, 5)
    got = {(name, tuple(sorted(labels.items())), ts, value) for name, labels, ts, value in samples}
    ms = to_ms(now)
    shed = (
        ("device", "shed-1"),
        ("place", "Teknikbod norr"),
        ("site", "skola-1"),
        ("type", "technical_shed_temperature"),
    )
    frys = (("device", "frys-1"), ("place", "Kök, frys 2"), ("site", "kok-1"), ("type", "freezer"))
    # a care device has no place tag: a room in a care home names its resident
    bed = (("device", "bed-1"), ("site", "enhet-3"), ("type", "bed_sensor"))
    assert got == {
        ("technical_shed_temperature_temperature", shed, ms, 26.5),
        ("technical_shed_temperature_humidity", shed, ms, 40.0),
        ("freezer_temperature", frys, ms, -19.0),
        ("freezer_door_open", frys, ms, 1.0),
        ("bed_sensor_in_bed", bed, ms, 0.0),
    }
    assert len(samples) == 5


def test_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    from tests.support.net import free_port

    store = InfluxReadingStore(
        f"http://127.0.0.1:{free_port()}", "t", "o", "b", tags_for=TAGS.get, timeout_ms=1000
    )
    with pytest.raises(StoreError, match="unreachable"):
        store.write([StoredReading("shed-1", datetime.now(UTC), "temperature", 20.0, "Cel")])
    store.close()


@pytest.mark.slow
def test_every_reading_exactly_once_across_a_server_stop_and_start(
    vm: VictoriaMetrics, tmp_path: Path
) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    spool = SpooledStore(
        influx(vm), tmp_path / "spool.db", batch_size=150, flush_interval=0.05, max_backoff=0.5
    )
    written: list[StoredReading] = []

    def write(first: int, last: int) -> None:
        for start in range(first, last, 10):
            batch = [
                StoredReading(
                    "shed-1", base + timedelta(seconds=i), "temperature", 20 + i / 100, "Cel"
                )
                for i in range(start, min(start + 10, last))
            ]
            spool.write(batch)  # returns once spooled: this is what the ack waits for
            written.extend(batch)

    write(0, 200)
    wait_for(lambda: spool.stats().size == 0, 20, what="first part delivered")
    vm.stop()
    write(200, 400)  # the server is away: the writes still succeed, into the spool
    wait_for(lambda: spool.stats().send_errors > 0, 20, what="a failed send while down")
    down = spool.stats()
    assert down.size == 200
    assert down.oldest_age_s >= 0
    assert "unreachable" in (down.last_error or "")
    vm.start()
    write(400, 500)
    assert spool.flush(30), "spool did not drain after the server came back"
    spool.close()

    samples = wait_samples(vm, len(written))
    counts = Counter((labels["device"], name, ts) for name, labels, ts, _v in samples)
    expected = Counter(
        ("shed-1", "technical_shed_temperature_temperature", to_ms(r.time)) for r in written
    )
    assert counts == expected  # every reading exactly once: no loss, no duplicate
    values = {ts: v for _n, _l, ts, v in samples}
    assert all(values[to_ms(r.time)] == pytest.approx(r.value) for r in written)


class _RecordingProxy:
    """A loopback HTTP hop between the real client and the real server that records each
    request (path, headers, body) and forwards it unchanged."""

    def __init__(self, target: str, delay_s: float = 0.0) -> None:
        import http.server
        import threading
        import time

        import httpx

        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay_s)  # a slow InfluxDB
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((self.path, headers, body))
                forward = {
                    k: v
                    for k, v in headers.items()
                    if k in ("content-encoding", "authorization", "content-type")
                }
                resp = httpx.post(target + self.path, content=body, headers=forward, timeout=10)
                self.send_response(resp.status_code)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            def do_GET(self) -> None:  # the bucket lookup, answered by the server
                resp = httpx.get(
                    target + self.path,
                    headers={"Authorization": self.headers["Authorization"] or ""},
                    timeout=10,
                )
                self.send_response(resp.status_code)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_one_gzip_request_per_batch_at_millisecond_precision(vm: VictoriaMetrics) -> None:
    import gzip

    proxy = _RecordingProxy(vm.url)
    try:
        store = InfluxReadingStore(
            proxy.url, "secret-token", "kommunvakt", "kommunvakt", tags_for=TAGS.get
        )
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        batch = [
            StoredReading("frys-1", base + timedelta(seconds=i), metric, value)
            for i in range(1500)
            for metric, value in (("temperature", -20.0 + i / 1000), ("door_open", i % 2 == 0))
        ]
        store.write(batch)
        store.close()
    finally:
        proxy.close()
    writes = [r for r in proxy.requests if r[0].startswith("/api/v2/write")]
    assert len(writes) == 1  # 3,000 readings, one request
    path, headers, body = writes[0]
    assert headers["content-encoding"] == "gzip"
    assert headers["authorization"] == "Token secret-token"
    assert "precision=ms" in path
    assert "bucket=kommunvakt" in path
    lines = gzip.decompress(body).decode().splitlines()
    assert len(lines) == 1500  # temperature and door of one instant share a line
    assert lines[0].startswith(
        "freezer,device=frys-1,place=Kök\\,\\ frys\\ 2,site=kok-1,type=freezer "
    )
    assert len(body) < len(gzip.decompress(body)) / 5
    got = wait_samples(vm, 3000)
    assert len(got) == 3000


def test_a_slow_server_does_not_slow_the_acknowledgement(
    vm: VictoriaMetrics, tmp_path: Path
) -> None:
    import time

    proxy = _RecordingProxy(vm.url, delay_s=1.5)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    spool = SpooledStore(
        InfluxReadingStore(proxy.url, "t", "kommunvakt", "kommunvakt", tags_for=TAGS.get),
        tmp_path / "spool.db",
        batch_size=100,
        flush_interval=0.01,
    )
    try:
        slowest = 0.0
        for start in range(0, 300, 20):
            batch = [
                StoredReading("shed-1", base + timedelta(seconds=i), "temperature", 20.0, "Cel")
                for i in range(start, start + 20)
            ]
            t = time.perf_counter()
            spool.write(batch)  # what the broker acknowledgement waits for
            slowest = max(slowest, time.perf_counter() - t)
        # every write returned long before one request to the slow server could have
        assert slowest < 1.0
        assert spool.stats().size > 0
        assert spool.flush(60)
        spool.close()
    finally:
        proxy.close()
    assert len(wait_samples(vm, 300)) == 300
