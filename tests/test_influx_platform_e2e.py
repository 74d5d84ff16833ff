"""The platform as a process with KOMMUNVAKT_STORE=influxdb: Mosquitto in, a real
/api/v2/write server (VictoriaMetrics) out, the server stopped and started mid-stream.

The acknowledgement waits only for the spool, so the broker keeps nothing back while the
server is away; every reading still arrives exactly once, and /metrics shows the spool.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.line_protocol import to_ms
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

SITE = {"id": "vattenverket", "name": "Vattenverket"}
SHED = {
    "id": "teknikbod-7",
    "type": "technical_shed_temperature",
    "name": "Teknikbod 7",
    "site_id": "vattenverket",
    "place": "Apparatrum",
}


SERIES = "technical_shed_temperature_temperature"


def readings(vm: VictoriaMetrics) -> list[tuple[str, dict[str, str], int, float]]:
    return [sample for sample in vm.samples() if sample[0] == SERIES]


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


class Publisher:
    def __init__(self, broker: Mosquitto) -> None:
        self.acked = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kv-influx-e2e-pub")
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_publish(self, *_args: object) -> None:
        with self._lock:
            self.acked += 1

    def send(self, first: int, last: int, base: datetime) -> None:
        for i in range(first, last):
            body = {
                "values": {"temperature": 20 + i / 100},
                "time": (base + timedelta(seconds=i)).isoformat(),
            }
            self.client.publish(f"kv/{SHED['id']}/up", json.dumps(body), qos=1)
        wait_for(lambda: self.acked >= last, 30, what=f"broker acks up to {last}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_readings_reach_influx_exactly_once_across_an_outage(
    mosquitto: Mosquitto, vm: VictoriaMetrics, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        mqtt_url=mosquitto.url,
        env={
            "KOMMUNVAKT_STORE": "influxdb",
            "KOMMUNVAKT_INFLUX_URL": vm.url,
            "KOMMUNVAKT_INFLUX_TOKEN": "test-token",
            "KOMMUNVAKT_INFLUX_FLUSH_INTERVAL_MS": "100",
            "KOMMUNVAKT_INFLUX_BATCH_SIZE": "200",
            "KOMMUNVAKT_INFLUX_TIMEOUT_MS": "2000",
        },
    ).start()
    proc.post("/api/v1/sites", SITE)
    proc.post("/api/v1/devices", SHED)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    pub = Publisher(mosquitto)

    def metrics() -> str:
        with proc.api() as client:  # /metrics wants a token
            return client.get("/metrics").text

    try:
        pub.send(0, 200, base)
        wait_for(lambda: len(readings(vm)) >= 200, 30, interval=0.3, what="first 200 in VM")
        vm.stop()
        pub.send(200, 400, base)  # acknowledged by the gateway although the server is down
        wait_for(
            lambda: metric(metrics(), "kommunvakt_spool_readings") == 200,
            30,
            what="200 readings waiting in the spool",
        )
        assert metric(metrics(), "kommunvakt_spool_send_errors_total") >= 1
        assert metric(metrics(), "kommunvakt_spool_oldest_age_seconds") >= 0
        latest = proc.get(f"/api/v1/devices/{SHED['id']}/latest")  # from the spool alone
        assert latest[0]["value"] == pytest.approx(20 + 399 / 100)
        vm.start()
        pub.send(400, 500, base)
        samples = wait_for(
            lambda: (s := readings(vm)) and len(s) >= 500 and s, 60, interval=0.5,
            what="all 500 readings in VM",
        )  # fmt: skip
    finally:
        pub.close()
    assert isinstance(samples, list)
    counts = Counter((labels["device"], name, ts) for name, labels, ts, _v in samples)
    assert counts == Counter(
        (SHED["id"], SERIES, to_ms(base + timedelta(seconds=i))) for i in range(500)
    )
    labels = samples[0][1]
    assert labels == {
        "device": SHED["id"],
        "type": SHED["type"],
        "site": SITE["id"],
        "place": SHED["place"],
    }
    wait_for(lambda: metric(metrics(), "kommunvakt_spool_readings") == 0, 20, what="empty spool")
    assert metric(metrics(), "kommunvakt_spool_sent_total") == 500
