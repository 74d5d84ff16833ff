"""Hostile devices against the running gateway, through a real Mosquitto.

Nothing a device sends may stop ingestion: a message no decoder can make sense of is a dead
letter with its reason, and every valid reading around it is stored. A reading dated in the
future is refused, so it cannot freeze a device's latest values and health.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for
from tests.test_e2e_gateway import SHED, Publisher, mosquitto_pub, shed_payload, stored

pytestmark = pytest.mark.mosquitto

EUI = "0a0a0a0a0a0a0a0a"
YEAR_ZERO = "0001-01-01T00:00:00+01:00"  # year 1 locally is year 0 in UTC

#: (topic, payload): each on a topic of its own, so the dead letters name exactly these
HOSTILE: list[tuple[str, bytes]] = [
    ("kv/h-0/up", b'{"time":"' + YEAR_ZERO.encode() + b'","values":{"temperature":1}}'),
    ("kv/h-1/up", b'{"time":"9999-12-31T23:59:59+14:00","values":{"temperature":1}}'),
    ("kv/h-2/up", b'{"values":{"temperature":NaN}}'),
    ("kv/h-3/up", b'{"values":{"temperature":1e999}}'),
    ("kv/h-4/up", b'{"values":{"temperature":1},"note":"\xff\xfe"}'),
    ("kv/h-5/up", b'{"values":' + b'{"x":' * 1025 + b"1" + b"}" * 1026),
    ("kv/h-6/up", b'{"values":{"temperature":' + str(10**400).encode() + b"}}"),
    ("kv/h-7/up", b'{"time":"1970-01-01T00:00:00Z","values":{"temperature":1}}'),
    ("kv/h-8/up", b'{"time":"2016-12-31T23:59:60Z","values":{"temperature":1}}'),
    ("kv/h-9/up", b'{"time":"2025-02-29T00:00:00Z","values":{"temperature":1}}'),
    ("zigbee2mqtt/h-10", b'{"pressure":1e308}'),
    ("zigbee2mqtt/h-11", b'{"temperature":1,"last_seen":"' + YEAR_ZERO.encode() + b'"}'),
    ("tele/h-12/SENSOR", b'{"Time":"' + YEAR_ZERO.encode() + b'","DS18B20":{"Temperature":1}}'),
    (
        f"application/1/device/{EUI}/event/up",
        b'{"time":"' + YEAR_ZERO.encode() + b'","object":{"temperature":1}}',
    ),
    (
        "v3/app@t/devices/h-14/up",
        b'{"uplink_message":{"received_at":"'
        + YEAR_ZERO.encode()
        + b'","decoded_payload":{"temperature":1}}}',
    ),
    ("senml/h-15", b'[{"bn":"h-15:","n":"temp","u":"Cel","v":1,"bt":1e300}]'),
]


def dead_letters(proc: Any) -> list[dict[str, Any]]:
    return list(proc.get("/api/v1/dead-letters", limit=1000))


def test_a_year_zero_message_then_a_thousand_readings(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    """The message that once held every later batch back: the next 1,000 are all stored."""
    data = tmp_path / "kv"
    proc = platform_factory(data, mqtt_url=mosquitto.url).start()
    proc.post("/api/v1/devices", SHED)
    mosquitto_pub(mosquitto, "kv/vem-som-helst/up", HOSTILE[0][1])
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    publisher = Publisher(mosquitto)
    try:
        for i in range(1000):
            publisher.client.publish(
                f"kv/{SHED['id']}/up", shed_payload(20 + i % 10, base + timedelta(seconds=i)), 1
            )
        wait_for(lambda: publisher.acked == 1000, timeout=60, what="1,000 publishes acked")
    finally:
        publisher.close()
    wait_for(lambda: stored(data) == 1000, timeout=60, what="1,000 readings stored")
    (letter,) = dead_letters(proc)
    assert letter["topic"] == "kv/vem-som-helst/up"
    assert "outside the years 1-9999" in letter["reason"]


def test_hostile_messages_among_valid_ones(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "kv"
    proc = platform_factory(data, mqtt_url=mosquitto.url).start()
    proc.post("/api/v1/devices", SHED)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    valid = 0
    publisher = Publisher(mosquitto)
    try:
        for _round in range(10):
            for topic, payload in HOSTILE:
                publisher.client.publish(topic, payload, 1)
                publisher.client.publish(
                    f"kv/{SHED['id']}/up", shed_payload(20.0, base + timedelta(seconds=valid)), 1
                )
                valid += 1
        total = 10 * len(HOSTILE) * 2
        wait_for(lambda: publisher.acked == total, timeout=60, what="every publish acked")
    finally:
        publisher.close()
    wait_for(lambda: stored(data) == valid, timeout=60, what=f"{valid} valid readings stored")
    letters = dead_letters(proc)
    assert len(letters) == 10 * len(HOSTILE)
    assert {d["topic"] for d in letters} == {topic for topic, _ in HOSTILE}
    assert all(d["reason"] for d in letters)
    assert proc.get("/api/v1/unknown-devices") == []
    with proc.api() as api:
        metrics = api.get("/metrics").text
    assert f"kommunvakt_dead_letters_total {10 * len(HOSTILE)}" in metrics
    assert 'kommunvakt_internal_errors_total{where="pipeline"} 0' in metrics
    assert f"kommunvakt_messages_received_total {total}" in metrics


def test_a_reading_dated_in_the_future_does_not_freeze_a_device(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv", mqtt_url=mosquitto.url).start()
    proc.post("/api/v1/devices", {"id": "sang-7", "type": "bed_sensor", "name": "Säng 7"})
    topic = "kv/sang-7/up"
    forged = {"time": "9999-12-31T23:59:59+14:00", "values": {"in_bed": True}}
    mosquitto_pub(mosquitto, topic, json.dumps(forged))
    (letter,) = wait_for(lambda: dead_letters(proc), timeout=20, what="the forged reading refused")
    assert "after it was received" in letter["reason"]
    assert "care device: payload not kept" in letter["reason"]

    before = datetime.now(UTC)
    mosquitto_pub(mosquitto, topic, json.dumps({"values": {"in_bed": False, "battery": 81}}))
    latest = wait_for(
        lambda: (
            [v for v in proc.get("/api/v1/devices/sang-7/latest") if v["metric"] == "battery"]
            and proc.get("/api/v1/devices/sang-7/latest")
        ),
        timeout=20,
        what="the real reading",
    )
    assert all(v["time"] < "9999" for v in latest)
    assert {v["metric"]: v["value"] for v in latest}["battery"] == 81
    health = proc.get("/api/v1/devices/sang-7")["health"]
    assert health["status"] == "online"
    seen = datetime.fromisoformat(health["last_seen"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= seen <= datetime.now(UTC)
