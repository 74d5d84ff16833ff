"""Chaos: parts killed, stopped and frozen under a running platform, each judged by counts.

kill -9 of the gateway under load (every reading stored exactly once), InfluxDB (here
VictoriaMetrics) stopped and then frozen under the spool (every reading exactly once in it,
health saying so meanwhile), and the mail server down with a kill -9 of the gateway after the
delivery (one mail, or repeats with the same id). The broker's kill -9 with and without a saved
session is ``test_session_loss.py``; a frozen server against the spool's backoff is
``test_spool_frozen_vm.py``; a full disk is ``test_health.py``.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.alert_sinks import SmtpSink
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for
from tests.support.publish import publish, start_publishing, stored
from tests.support.victoriametrics import VictoriaMetrics, victoria_metrics_binary

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

QUICK_HEALTH = {
    "KOMMUNVAKT_HEALTH_SPOOL_AGE_S": "1",
    "KOMMUNVAKT_HEALTH_OUTBOX_AGE_S": "1",
}


def health(proc: Any) -> tuple[int, set[str]]:
    resp = httpx.get(f"{proc.base_url}/healthz", timeout=5)
    failing = {name for name, c in resp.json()["checks"].items() if not c["ok"]}
    return resp.status_code, failing


def test_gateway_kill9_under_load_stores_every_reading_once(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv", mqtt_url=mosquitto.url).start()
    proc.post("/api/v1/devices", {"id": "rum-1", "type": "room_climate"})
    total = 20_000
    publisher = start_publishing(mosquitto, "rum-1", [20 + i / 1000 for i in range(total)])
    wait_for(lambda: stored(proc.data_dir, "rum-1") >= 1000, what="some readings stored")
    proc.kill()  # kill -9 mid-stream: what was not acknowledged waits in the broker
    at_kill = stored(proc.data_dir, "rum-1")
    assert publisher.wait(60) == 0  # the rest is published while the gateway is dead
    assert at_kill < total
    proc.start()
    wait_for(
        lambda: stored(proc.data_dir, "rum-1") == total, timeout=60, what=f"all {total} stored"
    )
    assert health(proc) == (200, set())


@pytest.fixture
def vm_dedup(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    if victoria_metrics_binary() is None:
        pytest.fail("victoria-metrics is not installed; `make test` installs it")
    # the dedup flag docs/production.md asks for: a resend after a timeout is the same points
    server = VictoriaMetrics(tmp_path / "vm", extra_args=("-dedup.minScrapeInterval=1ms",))
    yield server.start()
    server.stop()


def test_storage_stopped_then_frozen_every_reading_once(
    mosquitto: Mosquitto, vm_dedup: VictoriaMetrics, platform_factory: Any, tmp_path: Path
) -> None:
    vm = vm_dedup
    proc = platform_factory(
        tmp_path / "kv",
        mqtt_url=mosquitto.url,
        env={
            "KOMMUNVAKT_STORE": "influxdb",
            "KOMMUNVAKT_INFLUX_URL": vm.url,
            "KOMMUNVAKT_INFLUX_TOKEN": "test-token",
            "KOMMUNVAKT_INFLUX_FLUSH_INTERVAL_MS": "100",
            "KOMMUNVAKT_INFLUX_BATCH_SIZE": "200",
            "KOMMUNVAKT_INFLUX_TIMEOUT_MS": "500",
            **QUICK_HEALTH,
        },
    ).start()
    proc.post("/api/v1/devices", {"id": "rum-1", "type": "room_climate"})

    def in_vm() -> list[int]:
        return [ts for _name, labels, ts, _v in vm.samples() if labels.get("device") == "rum-1"]

    publish(mosquitto, "rum-1", [20.0] * 300)
    wait_for(lambda: len(in_vm()) >= 300, 30, interval=0.3, what="300 in VM")
    vm.stop()
    publish(mosquitto, "rum-1", [21.0] * 300, first=300)
    wait_for(lambda: "spool" in health(proc)[1], 20, what="health: the spool ages")
    assert health(proc)[0] == 503
    assert httpx.get(f"{proc.base_url}/readyz", timeout=5).status_code == 200
    vm.start()
    wait_for(lambda: health(proc) == (200, set()), 30, what="drained, healthy again")
    vm.freeze()
    publish(mosquitto, "rum-1", [22.0] * 300, first=600)
    wait_for(lambda: "spool" in health(proc)[1], 20, what="health: frozen server")
    vm.thaw()
    stamps = wait_for(
        lambda: (s := in_vm()) and len(set(s)) >= 900 and s, 60, interval=0.5, what="900 in VM"
    )
    assert isinstance(stamps, list)
    assert len(stamps) == 900  # each reading once, though a chunk may have reached it twice
    assert Counter(stamps).most_common(1)[0][1] == 1
    wait_for(lambda: health(proc) == (200, set()), 30, what="healthy after the freeze")


SHED = {"id": "tb-7", "type": "technical_shed_temperature", "name": "Teknikbod 7"}


def test_smtp_down_then_gateway_killed_one_mail_per_transition(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    smtp = SmtpSink()  # down: nothing listens on its port yet
    alerting = {
        "recipients": [{"name": "Jouren", "url": smtp.url(), "tags": ["severity:critical"]}],
        "retry_first_s": 0.5,
        "retry_max_s": 1,
    }
    proc = platform_factory(
        tmp_path / "kv",
        mqtt_url=mosquitto.url,
        env={
            "KOMMUNVAKT_ALERTING": json.dumps(alerting),
            "KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": 0}}),
            **QUICK_HEALTH,
        },
    ).start()
    proc.post("/api/v1/devices", SHED)
    now = datetime.now(UTC).replace(microsecond=0)
    body = {"time": (now - timedelta(seconds=5)).isoformat(), "values": {"temperature": 31.0}}
    subprocess.run(
        ["mosquitto_pub", "-p", str(mosquitto.port), "-q", "1", "-t", "kv/tb-7/up",
         "-m", json.dumps(body)],
        check=True, timeout=30,
    )  # fmt: skip
    try:
        wait_for(lambda: "outbox" in health(proc)[1], 20, what="health: mail undelivered")
        smtp.start()
        wait_for(lambda: smtp.mails, 20, what="the alert mail after the outage")
        wait_for(lambda: health(proc) == (200, set()), 20, what="outbox empty")
        proc.kill()
        proc.start()
        wait_for(lambda: health(proc) == (200, set()), 20, what="healthy after the restart")
    finally:
        smtp.stop()
    ids = Counter(tuple(m.header("X-Kommunvakt-Message-Id")) for m in smtp.mails)
    assert len(ids) == 1, ids  # one transition: one id, repeats (if any) carry it
    assert len(smtp.mails) == 1  # and here, no repeat: the outbox had marked it sent
