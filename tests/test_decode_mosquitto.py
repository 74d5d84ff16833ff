"""Every payload family over a real Mosquitto, published by ``mosquitto_pub`` (a client none of
us wrote), taken in by ``kommunvakt run`` as a real process, and read back from the store."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.decode_examples import (
    CHIRPSTACK_V3_PB_UP,
    CHIRPSTACK_V4_STATUS,
    CHIRPSTACK_V4_UP,
    ELSYS_OBJECT,
    MILESIGHT_SLD_OBJECT,
    TTS_UP,
    with_object,
)
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

V4_EUI = "a84041000181c61e"
V3_EUI = "0202020202020202"


def pub(broker: Mosquitto, topic: str, payload: bytes | str) -> None:
    data = payload if isinstance(payload, bytes) else payload.encode()
    subprocess.run(
        ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", topic, "-s"],
        input=data,
        check=True,
        timeout=10,
    )


def latest(platform: Any, device_id: str) -> dict[str, Any]:
    return {v["metric"]: v["value"] for v in platform.get(f"/api/v1/devices/{device_id}/latest")}


def metric_value(platform: Any, line_start: str) -> float | None:
    with platform.api() as api:
        text = api.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def v4_up(f_cnt: int, obj: dict[str, Any], time: str) -> bytes:
    msg = with_object(CHIRPSTACK_V4_UP, "object", obj, fCnt=f_cnt, time=time)
    msg["deviceInfo"] = {**msg["deviceInfo"], "devEui": V4_EUI}
    return orjson.dumps(msg)


def test_every_family_over_mosquitto_into_the_store(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    platform = platform_factory(tmp_path / "platform", mqtt_url=mosquitto.url).start()
    devices = {
        "frys-elsys": ("chirpstack", V4_EUI),
        "lakage-v3": ("chirpstack", V3_EUI),
        "lakage-ttn": ("ttn", "em300-sld-7"),
        "frys-dorr": ("zigbee2mqtt", "Kök/frys: dörr 1"),
        "bod-tasmota": ("tasmota", "teknikbod-3"),
        "senml-1": ("senml", "urn:dev:ow:10e2073a01080063"),
    }
    for device_id, (source, ref) in devices.items():
        platform.post(
            "/api/v1/devices",
            {"id": device_id, "type": "freezer", "refs": [{"source": source, "ref": ref}]},
        )
    wait_for(
        lambda: httpx.get(f"{platform.base_url}/healthz", timeout=2).json()["mqtt_connected"],
        20,
        what="gateway subscribed",
    )

    up = f"application/app-1/device/{V4_EUI}/event/up"
    pub(mosquitto, up, v4_up(41, ELSYS_OBJECT, "2026-01-15T02:00:00.5+00:00"))
    # The same uplink again (a second delivery: other time, and a value that must not win).
    pub(mosquitto, up, v4_up(41, {**ELSYS_OBJECT, "temperature": 99.0}, "2026-01-15T02:00:04Z"))
    pub(
        mosquitto,
        f"application/app-1/device/{V4_EUI}/event/status",
        orjson.dumps({**CHIRPSTACK_V4_STATUS, "deviceInfo": {"devEui": V4_EUI}}),
    )
    pub(
        mosquitto,
        f"application/1/device/{V3_EUI}/event/up",
        orjson.dumps({**CHIRPSTACK_V3_PB_UP, "objectJSON": '{"leakage_status":"leak"}'}),
    )
    tts = dict(TTS_UP)
    tts["end_device_ids"] = {**TTS_UP["end_device_ids"], "device_id": "em300-sld-7"}
    tts["uplink_message"] = {
        **TTS_UP["uplink_message"],
        "f_cnt": 9,
        "decoded_payload": MILESIGHT_SLD_OBJECT,
        "received_at": "2026-01-15T03:00:00Z",
    }
    pub(mosquitto, "v3/kommun@ttn/devices/em300-sld-7/up", orjson.dumps(tts))
    pub(mosquitto, "v3/kommun@ttn/devices/em300-sld-7/join", b"{}")
    pub(
        mosquitto,
        "zigbee2mqtt/Kök/frys: dörr 1",
        '{"contact":false,"battery":"88","voltage":2950,"linkquality":87,'
        '"last_seen":"2026-01-15T04:00:00+01:00"}',
    )
    pub(mosquitto, "zigbee2mqtt/Kök/frys: dörr 1/availability", "online")
    pub(mosquitto, "zigbee2mqtt/bridge/state", '{"state":"online"}')
    pub(
        mosquitto,
        "tele/teknikbod-3/SENSOR",
        '{"Time":"2026-01-15T05:00:00","AM2301":{"Temperature":77.0,"Humidity":40},"TempUnit":"F"}',
    )
    pub(mosquitto, "tele/teknikbod-3/LWT", "Online")
    pub(
        mosquitto,
        "senml/kommun",
        '[{"bn":"urn:dev:ow:10e2073a01080063:","bt":1768446000,"n":"temp","u":"Cel","v":-18.4},'
        '{"n":"battery","u":"%EL","v":"71"}]',
    )
    pub(mosquitto, "homeassistant/binary_sensor/0x1/contact/config", '{"device_class":"door"}')
    pub(mosquitto, "tele/teknikbod-3/SENSOR", "not json at all")

    wait_for(lambda: "battery" in latest(platform, "senml-1"), 20, what="last reading stored")
    wait_for(lambda: metric_value(platform, "kommunvakt_dead_letters_total") == 1, 10)

    elsys = latest(platform, "frys-elsys")
    assert elsys["temperature"] == 21.3  # the first delivery, not the duplicate's 99
    assert elsys["voltage"] == pytest.approx(3.648)
    assert elsys["battery"] == 88.3  # from the status event
    assert elsys["rssi"] == -36.0
    assert latest(platform, "lakage-v3")["water_leak"] is True
    ttn = latest(platform, "lakage-ttn")
    assert ttn["water_leak"] is False
    assert ttn["humidity"] == 50.5
    door = latest(platform, "frys-dorr")
    assert door["door_open"] is True
    assert door["battery"] == 88.0
    assert door["voltage"] == 2.95
    assert door["online"] is True
    bod = latest(platform, "bod-tasmota")
    assert bod["temperature"] == pytest.approx(25.0)
    assert bod["online"] is True
    senml = latest(platform, "senml-1")
    assert senml == {"temperature": -18.4, "battery": 71.0}

    # Read back from the store itself: the duplicate uplink is there once.
    with sqlite3.connect(f"file:{tmp_path / 'platform' / 'readings.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT ts, num FROM readings WHERE device_id = 'frys-elsys' AND metric = 'temperature'"
        ).fetchall()
        door_time = db.execute(
            "SELECT ts FROM readings WHERE device_id = 'frys-dorr' AND metric = 'door_open'"
        ).fetchone()
    assert [num for _ts, num in rows] == [21.3]
    assert door_time == (1768446000 * 1_000_000,)  # last_seen 04:00+01:00 = 03:00 UTC
    assert metric_value(platform, "kommunvakt_duplicates_total") == 1

    letters = platform.get("/api/v1/dead-letters")
    assert [(d["topic"], "not JSON" in d["reason"]) for d in letters] == [
        ("tele/teknikbod-3/SENSOR", True)
    ]
    by_family = {
        fam: metric_value(platform, f'kommunvakt_messages_by_family_total{{family="{fam}"}}')
        for fam in ("chirpstack", "ttn", "zigbee2mqtt", "tasmota", "senml", "homeassistant")
    }
    assert by_family == {
        "chirpstack": 4.0,
        "ttn": 2.0,
        "zigbee2mqtt": 3.0,
        "tasmota": 2.0,
        "senml": 1.0,
        "homeassistant": 1.0,
    }
