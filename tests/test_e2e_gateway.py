"""End to end through a real Mosquitto: a shed alert, a crash with readings in flight, bad input."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.sqlite_store import SqliteReadingStore
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for

pytestmark = pytest.mark.mosquitto

SHED = {"id": "teknikbod-7", "type": "technical_shed_temperature", "name": "Teknikbod 7"}


def mosquitto_pub(broker: Mosquitto, topic: str, payload: str | bytes) -> None:
    cmd = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", topic]
    if isinstance(payload, bytes) and len(payload) > 4096:
        subprocess.run([*cmd, "-s"], input=payload, check=True, timeout=30)
    else:
        text = payload.decode() if isinstance(payload, bytes) else payload
        subprocess.run([*cmd, "-m", text], check=True, timeout=30)


def shed_payload(celsius: float, at: datetime | None = None) -> str:
    body: dict[str, Any] = {"values": {"temperature": celsius}}
    if at is not None:
        body["time"] = at.isoformat()
    return json.dumps(body)


def test_hot_shed_raises_critical_alert_ack_and_resolve(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        mqtt_url=mosquitto.url,
        env={"KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": 2}})},
    ).start()
    proc.post("/api/v1/devices", SHED)
    topic = f"kv/{SHED['id']}/up"

    mosquitto_pub(mosquitto, topic, shed_payload(31.0))
    # Held: the clock tick fires the alert once the hold time has passed with no new reading.
    alerts = wait_for(
        lambda: proc.get("/api/v1/alerts", state="active"), timeout=20, what="an active alert"
    )
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["device_id"] == SHED["id"]
    assert alert["severity"] == "critical"
    assert alert["value"] == 31.0
    assert alert["threshold"] == 30.0

    latest = proc.get(f"/api/v1/devices/{SHED['id']}/latest")
    assert [(v["metric"], v["value"], v["unit"]) for v in latest] == [("temperature", 31.0, "Cel")]

    acked = proc.post(f"/api/v1/alerts/{alert['id']}/ack", {"note": "på väg"})
    assert acked["state"] == "acknowledged"
    assert acked["acknowledged_by"] == "admin"

    # 28 °C is below critical (30 - 1 hysteresis) but above warning (25): severity drops to
    # warning on the same alert; 23 °C resolves it.
    mosquitto_pub(mosquitto, topic, shed_payload(28.0))
    wait_for(
        lambda: proc.get(f"/api/v1/alerts/{alert['id']}")["severity"] == "warning",
        what="severity lowered to warning",
    )
    mosquitto_pub(mosquitto, topic, shed_payload(23.0))
    resolved = wait_for(lambda: proc.get("/api/v1/alerts", state="resolved"), what="resolved alert")
    assert [a["id"] for a in resolved] == [alert["id"]]
    assert proc.get("/api/v1/alerts", state="active") == []
    history = proc.get(f"/api/v1/alerts/{alert['id']}/history")
    assert [h["kind"] for h in history] == ["fire", "acknowledge", "change", "resolve"]
    assert history[1]["actor"] == "admin"
    deliveries = proc.get("/api/v1/deliveries", alert_id=alert["id"])
    assert {d["kind"] for d in deliveries} == {"fire", "change", "resolve"}
    assert all(d["ok"] for d in deliveries)


def stored(data: Path) -> int:
    store = SqliteReadingStore(data / "readings.db")
    try:
        return store.count()
    finally:
        store.close()


class Publisher:
    """A paho QoS 1 publisher that counts broker acknowledgements."""

    def __init__(self, broker: Mosquitto) -> None:
        self.acked = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
        self.client.max_inflight_messages_set(200)
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_publish(self, *_args: object) -> None:
        with self._lock:
            self.acked += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_sigkill_with_readings_in_flight_loses_nothing(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "kv"
    client_id = "kv-crash-test"
    proc = platform_factory(
        data, mqtt_url=mosquitto.url, env={"KOMMUNVAKT_MQTT_CLIENT_ID": client_id}
    ).start()
    proc.post("/api/v1/devices", SHED)
    topic = f"kv/{SHED['id']}/up"
    base = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    total = 5000
    publisher = Publisher(mosquitto)
    try:
        for i in range(total):
            publisher.client.publish(
                topic, shed_payload(20 + (i % 100) / 10, base + timedelta(seconds=i)), qos=1
            )
            if i == total // 3:
                # readings are on the wire and in the gateway's queue right now
                proc.kill()
        wait_for(
            lambda: publisher.acked == total,
            timeout=60,
            what="the broker acknowledged every publish",
        )
    finally:
        publisher.close()

    stored_before_restart = stored(data)
    assert stored_before_restart < total  # the kill really left readings unstored

    # Same client id, same persistent session: the broker redelivers what was not acked.
    restarted = platform_factory(
        data, mqtt_url=mosquitto.url, env={"KOMMUNVAKT_MQTT_CLIENT_ID": client_id}
    )
    restarted.api_port = proc.api_port  # any free port would do; keep the same one
    restarted.start()

    wait_for(lambda: stored(data) >= total, timeout=60, what=f"{total} readings stored")
    restarted.stop()
    store = SqliteReadingStore(data / "readings.db")
    try:
        assert store.count() == total
        rows = store.history(SHED["id"], "temperature", base, base + timedelta(seconds=total))
        assert [r.time for r in rows] == [base + timedelta(seconds=i) for i in range(total)]
    finally:
        store.close()


def test_bad_input_goes_to_dead_letters_and_gateway_keeps_running(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv", mqtt_url=mosquitto.url).start()
    proc.post("/api/v1/devices", SHED)
    topic = f"kv/{SHED['id']}/up"
    mosquitto_pub(mosquitto, topic, "this is not json")
    mosquitto_pub(mosquitto, topic, json.dumps({"values": {"temperature": "varm"}}))
    mosquitto_pub(mosquitto, topic, json.dumps({"values": {"temperature": 21, "flux": 3}}))
    mosquitto_pub(mosquitto, topic, json.dumps([1, 2, 3]))
    mosquitto_pub(
        mosquitto, topic, b'{"values": {"temperature": 1}, "pad": "' + b"x" * 1_000_000 + b'"}'
    )
    mosquitto_pub(mosquitto, "kv/okand-enhet/up", shed_payload(22.0))
    mosquitto_pub(mosquitto, topic, shed_payload(21.5))

    latest = wait_for(
        lambda: proc.get(f"/api/v1/devices/{SHED['id']}/latest"),
        what="the good reading after the bad ones",
    )
    assert latest[0]["value"] == 21.5
    letters = wait_for(
        lambda: len(proc.get("/api/v1/dead-letters")) == 5 and proc.get("/api/v1/dead-letters"),
        what="five dead letters",
    )
    reasons = sorted(d["reason"] for d in letters)
    assert any("not JSON" in r for r in reasons)
    assert any("'varm' is not a number" in r for r in reasons)
    assert any("unknown metric 'flux'" in r for r in reasons)
    assert any("expected an object" in r for r in reasons)
    big = next(d for d in letters if d["payload_bytes"] > 1_000_000)
    assert "over the" in big["reason"]
    assert len(big["payload"]) < 4096  # truncated before it is kept
    unknown = proc.get("/api/v1/unknown-devices")
    assert [u["ref"] for u in unknown] == ["okand-enhet"]
    with proc.api() as client:
        text = client.get("/metrics").text
    assert "kommunvakt_dead_letters_total 5" in text
    assert "kommunvakt_quarantined_total 1" in text
    assert proc.proc is not None
    assert proc.proc.poll() is None


def test_a_retained_reading_without_time_is_not_stored_again_on_every_restart(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    """A device (or a bridge such as zigbee2mqtt or Tasmota) that publishes with the retain
    flag leaves a copy at the broker, replayed on every subscribe. Without a time of its own
    that copy would be stored again, stamped "now", at each restart: a dead sensor would look
    alive. Replays with a device time are stored once (same key); untimed ones are counted."""
    data = tmp_path / "kv"
    env = {"KOMMUNVAKT_MQTT_CLIENT_ID": "kv-retain-test"}
    proc = platform_factory(data, mqtt_url=mosquitto.url, env=env).start()
    proc.post("/api/v1/devices", SHED)
    topic = f"kv/{SHED['id']}/up"
    cmd = ["mosquitto_pub", "-h", mosquitto.host, "-p", str(mosquitto.port), "-q", "1", "-r"]
    subprocess.run([*cmd, "-t", topic, "-m", shed_payload(21.0)], check=True, timeout=30)
    wait_for(lambda: stored(data) == 1, timeout=20, what="the live reading stored")
    proc.stop()

    restarted = platform_factory(data, mqtt_url=mosquitto.url, env=env).start()
    try:
        marker = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        mosquitto_pub(mosquitto, topic, shed_payload(22.0, marker))  # after the replay

        def temperatures() -> list[float]:
            store = SqliteReadingStore(data / "readings.db")
            try:
                far = datetime(2100, 1, 1, tzinfo=UTC)
                rows = store.history(SHED["id"], "temperature", far.replace(year=2000), far)
                return [float(r.value) for r in rows]
            finally:
                store.close()

        wait_for(lambda: 22.0 in temperatures(), timeout=20, what="the marker stored")
        assert temperatures() == [21.0, 22.0]  # the live reading and the marker; no replay
        with restarted.api() as api:
            metrics = api.get("/metrics").text
        assert "kommunvakt_retained_untimed_total 1" in metrics
    finally:
        restarted.stop()
        # leave the broker clean for the next test
        subprocess.run([*cmd, "-t", topic, "-n"], check=True, timeout=30)
