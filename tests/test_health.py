"""``/healthz`` tells the truth: a failing store, a stalled pipeline, a mail server that is down,
InfluxDB gone behind the spool and a clock that stopped each show up within their bound, in the
report, in ``/livez``/``/readyz`` as far as they matter there, and as gauges in ``/metrics``.

The parts are real: a SQLite store on a small full tmpfs (where the machine lets us mount one),
VictoriaMetrics stopped, an aiosmtpd server that is not there yet.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devices.schemas import DeviceCreate
from gateway.app import create_app
from gateway.health import HealthBounds, HealthInputs, IngestProgress, assess
from gateway.platform import Platform
from gateway.settings import load_settings
from ingest.influx_store import InfluxReadingStore
from ingest.line_protocol import SeriesTags
from ingest.spool import SpooledStore
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import ReadingStore, StoredReading
from tests.support.alert_sinks import SmtpSink
from tests.support.net import wait_for
from tests.support.platform import TOKEN
from tests.support.victoriametrics import VictoriaMetrics

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
QUICK = {
    "health_ingest_stall_s": 1.0,
    "health_store_failing_s": 1.0,
    "health_spool_age_s": 1.0,
    "health_outbox_age_s": 1.0,
}

# -- the pure part ---------------------------------------------------------------------------

HEALTHY = HealthInputs(
    mqtt_connected=True,
    queue_depth=0,
    ingest_stalled_s=0.0,
    store_failing_s=0.0,
    spool_oldest_s=0.5,
    clock_age_s=0.9,
    outbox_oldest_s=None,
)


@pytest.mark.parametrize(
    ("change", "failing", "live", "ready"),
    [
        ({}, set(), True, True),
        ({"mqtt_connected": False}, {"mqtt"}, True, False),
        ({"ingest_stalled_s": 61.0, "queue_depth": 500}, {"ingest"}, True, True),
        ({"store_failing_s": 61.0}, {"store"}, True, False),
        ({"spool_oldest_s": 601.0}, {"spool"}, True, True),
        ({"clock_age_s": 11.0}, {"clock"}, False, False),
        ({"outbox_oldest_s": 901.0}, {"outbox"}, True, True),
        ({"mqtt_connected": None, "spool_oldest_s": None}, set(), True, True),
    ],
)
def test_each_check_against_its_bound(
    change: dict[str, Any], failing: set[str], live: bool, ready: bool
) -> None:
    inputs = _with(HEALTHY, change)
    report = assess(inputs, HealthBounds())
    assert {c.name for c in report.checks if not c.ok} == failing
    assert report.ok is (not failing)
    assert (report.live, report.ready) == (live, ready)
    assert report.as_json()["status"] == ("ok" if not failing else "degraded")


def _with(inputs: HealthInputs, change: dict[str, Any]) -> HealthInputs:
    fields = {name: getattr(inputs, name) for name in HealthInputs.__dataclass_fields__}
    return HealthInputs(**{**fields, **change})


def test_ingest_progress_tells_a_stall_and_a_failing_store_from_a_quiet_gateway() -> None:
    progress = IngestProgress(T0)
    at = [T0 + timedelta(seconds=s) for s in range(100)]
    progress.observe(at[1], depth=0, batches=0, store_errors=0)
    progress.observe(at[50], depth=0, batches=0, store_errors=0)
    assert progress.stalled_s(at[60]) == 0.0  # nothing to do is not a stall
    progress.observe(at[61], depth=10, batches=1, store_errors=0)
    progress.observe(at[62], depth=900, batches=1, store_errors=0)
    assert progress.stalled_s(at[70]) == 9.0  # work waits since the last stored batch
    progress.observe(at[71], depth=0, batches=1, store_errors=1)  # the held batch fails
    progress.observe(at[75], depth=0, batches=1, store_errors=3)
    assert progress.failing_s(at[80]) == 9.0
    assert progress.stalled_s(at[80]) == 19.0  # the retried batch is work too
    progress.observe(at[81], depth=0, batches=2, store_errors=3)
    assert (progress.failing_s(at[90]), progress.stalled_s(at[90])) == (0.0, 0.0)


# -- against real parts ----------------------------------------------------------------------


def build(
    tmp_path: Path, store: ReadingStore | None = None, **settings: Any
) -> tuple[Platform, TestClient]:
    options: dict[str, Any] = {**QUICK, **settings}
    platform = Platform(
        load_settings(data_dir=tmp_path / "data", admin_token=TOKEN, **options), store=store
    )
    platform.start(mqtt=False)
    platform.registry.create(DeviceCreate(id="rum-1", type="room_climate"), now=datetime.now(UTC))
    client = TestClient(create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"})
    return platform, client


def reading(i: int) -> bytes:
    at = T0 + timedelta(seconds=i)
    return json.dumps({"time": at.isoformat(), "values": {"temperature": 20 + i / 100}}).encode()


def failing_checks(client: TestClient) -> set[str]:
    body = client.get("/healthz").json()
    return {name for name, c in body["checks"].items() if not c["ok"]}


def gauge(client: TestClient, sample: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not in /metrics")


@pytest.fixture
def small_full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root); filled up by the test once the store is open."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_store_on_a_full_disk_fails_health(tmp_path: Path, small_full_disk: Path) -> None:
    store = SqliteReadingStore(small_full_disk / "readings.db")
    platform, client = build(tmp_path, store)
    try:
        with client:
            assert client.get("/healthz").status_code == 200
            filler = small_full_disk / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
            try:  # the rest of the disk, to the last block
                while os.write(fd, b"\0" * 4096):
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            for i in range(400):
                platform.pipeline.submit("kv/rum-1/up", reading(i), i + 1, 1)
            wait_for(lambda: "store" in failing_checks(client), timeout=10, what="store failing")
            resp = client.get("/healthz")
            assert resp.status_code == 503
            body = resp.json()
            assert body["status"] == "degraded"
            assert "failed" in body["checks"]["store"]["detail"]
            assert client.get("/readyz").status_code == 503
            assert client.get("/livez").status_code == 200  # a restart would not help
            assert gauge(client, "kommunvakt_store_failing_seconds") >= 1.0
            assert gauge(client, 'kommunvakt_health_check_ok{check="store"}') == 0
            filler.unlink()  # room again: the held batch goes through, health recovers
            wait_for(lambda: client.get("/healthz").status_code == 200, what="recovered")
            assert platform.pipeline.stats.readings_stored == 400
    finally:
        platform.stop()


def test_a_stalled_pipeline_fails_health(tmp_path: Path) -> None:
    platform, client = build(tmp_path)
    hang = threading.Event()
    # a listener that never returns stands for any bug that wedges the worker thread
    platform.pipeline.listeners.append(lambda _batch: hang.wait())
    try:
        with client:
            platform.pipeline.submit("kv/rum-1/up", reading(0), 1, 1)
            wait_for(lambda: platform.pipeline.depth == 0, what="the worker took it and hangs")
            platform.pipeline.submit("kv/rum-1/up", reading(1), 2, 1)  # traffic goes on
            wait_for(lambda: platform.pipeline.depth > 0, what="a message waiting")
            wait_for(lambda: "ingest" in failing_checks(client), timeout=10, what="stall seen")
            assert client.get("/healthz").status_code == 503
            assert gauge(client, "kommunvakt_ingest_stalled_seconds") >= 1.0
            assert client.get("/readyz").status_code == 200  # it can still take messages
            hang.set()
            wait_for(lambda: client.get("/healthz").status_code == 200, what="drained")
    finally:
        hang.set()
        platform.stop()


def test_a_mail_server_that_is_down_fails_health(tmp_path: Path) -> None:
    smtp = SmtpSink()  # not started: nothing listens on its port yet
    alerting = {
        "recipients": [{"name": "Jouren", "url": smtp.url(), "tags": ["role:operator"]}],
        "retry_first_s": 0.2,
        "retry_max_s": 0.5,
    }
    platform, client = build(tmp_path, alerting=alerting)
    try:
        with client:
            platform.engine.raise_external(
                "test", "mail_check", "warning", "Provlarm", ["role:operator"]
            )
            wait_for(lambda: "outbox" in failing_checks(client), timeout=10, what="outbox late")
            body = client.get("/healthz").json()
            assert "undelivered" in body["checks"]["outbox"]["detail"]
            assert gauge(client, "kommunvakt_outbox_oldest_pending_age_seconds") >= 1.0
            smtp.start()
            wait_for(lambda: smtp.subjects(), timeout=10, what="the mail delivered")
            wait_for(lambda: client.get("/healthz").status_code == 200, what="outbox empty")
    finally:
        smtp.stop()
        platform.stop()


@pytest.mark.slow
def test_influxdb_stopped_behind_the_spool_fails_health(tmp_path: Path) -> None:
    vm = VictoriaMetrics(tmp_path / "vm").start()
    tags = SeriesTags("room_climate", "rum-1", "room_climate", None, None)
    backend = InfluxReadingStore(
        vm.url, "t", "kommunvakt", "kommunvakt", tags_for=lambda _d: tags, timeout_ms=500
    )
    spool = SpooledStore(backend, tmp_path / "spool.db", flush_interval=0.05, max_backoff=0.5)
    platform, client = build(tmp_path, spool)
    try:
        with client:
            vm.stop()
            spool.write([StoredReading("rum-1", T0, "temperature", 21.0, "Cel")])
            wait_for(lambda: "spool" in failing_checks(client), timeout=10, what="spool aged")
            assert client.get("/readyz").status_code == 200  # the spool still takes readings
            vm.start()
            wait_for(lambda: client.get("/healthz").status_code == 200, what="spool drained")
    finally:
        platform.stop()
        vm.stop()


def test_a_clock_that_stops_fails_liveness(tmp_path: Path) -> None:
    platform, client = build(tmp_path, health_clock_s=1.0)
    stuck, entered = threading.Event(), threading.Event()

    def never_returns(_now: object) -> None:
        entered.set()
        stuck.wait()

    platform.tickers.append(never_returns)
    try:
        with client:
            # before the first tick the clock is "not started" (503 too): wait for the tick that
            # hangs, so the 503 below is the stopped clock's
            assert entered.wait(10), "the clock never ticked"
            wait_for(lambda: client.get("/livez").status_code == 503, timeout=10, what="dead")
            assert "clock" in failing_checks(client)
            assert gauge(client, "kommunvakt_clock_last_tick_age_seconds") > 1.0
    finally:
        stuck.set()
        platform.stop()
