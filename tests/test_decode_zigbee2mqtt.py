"""zigbee2mqtt device and availability topics, as its MQTT guide documents them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ingest import zigbee2mqtt
from ingest.errors import DecodeError
from ingest.formats import FormatRouter

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SEEN = datetime(2019, 10, 22, 15, 42, 13, tzinfo=UTC)


def decode(topic: str, payload: bytes | str) -> Any:
    raw = payload.encode() if isinstance(payload, str) else payload
    return zigbee2mqtt.decode(topic, raw, NOW)


def test_door_sensor_with_all_the_usual_keys() -> None:
    d = decode(
        "zigbee2mqtt/Frys kök",
        '{"battery":97,"contact":false,"linkquality":116,"voltage":3025,"tamper":false,'
        '"battery_low":false,"last_seen":"2019-10-22T15:42:13.000Z"}',
    )
    assert d.device_ref == "Frys kök"
    assert {r.metric: (r.value, r.unit) for r in d.readings} == {
        "battery": (97.0, "%EL"),
        "door_open": (True, None),  # contact false = magnet away = open
        "linkquality": (116.0, None),  # Zigbee LQI, not dBm
        "voltage": (3.025, "V"),
        "tamper": (False, None),
        "battery_low": (False, None),
    }
    assert {r.time for r in d.readings} == {SEEN}


@pytest.mark.parametrize(
    "last_seen",
    [
        '"2019-10-22T15:42:13.000Z"',  # ISO_8601
        '"2019-10-22T17:42:13.000+02:00"',  # ISO_8601_local
        "1571758933000",  # epoch (milliseconds)
    ],
)
def test_last_seen_in_all_three_forms(last_seen: str) -> None:
    d = decode("zigbee2mqtt/leak", f'{{"water_leak":true,"last_seen":{last_seen}}}')
    assert [(r.metric, r.value, r.time) for r in d.readings] == [("water_leak", True, SEEN)]


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        ("zigbee2mqtt/kitchen/fridge door", "kitchen/fridge door"),
        ("zigbee2mqtt/0x00158d0001a2b3c4", "0x00158d0001a2b3c4"),
        ("zigbee2mqtt/Hus 3: tvättstuga/golv", "Hus 3: tvättstuga/golv"),
    ],
)
def test_friendly_names_with_slashes_spaces_and_colons(topic: str, name: str) -> None:
    d = decode(topic, '{"temperature":"21.5","humidity":40,"occupancy":true}')
    assert {r.device_ref for r in d.readings} == {name}
    assert {r.metric: r.value for r in d.readings} == {
        "temperature": 21.5,
        "humidity": 40.0,
        "occupancy": True,
    }
    assert {r.time for r in d.readings} == {NOW}  # no last_seen: receive time
    avail = decode(topic + "/availability", '{"state":"offline"}')
    assert [(r.device_ref, r.metric, r.value) for r in avail.readings] == [(name, "online", False)]


@pytest.mark.parametrize(
    ("payload", "online"),
    [
        ('{"state":"online"}', True),
        ('{"state":"offline"}', False),
        ("online", True),
        ("offline", False),
    ],
)
def test_availability_2x_json_and_1x_plain(payload: str, online: bool) -> None:
    d = decode("zigbee2mqtt/hall/pir/availability", payload)
    assert [(r.device_ref, r.metric, r.value, r.time) for r in d.readings] == [
        ("hall/pir", "online", online, NOW)
    ]


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/bridge/state",
        "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/bridge/event",
        "zigbee2mqtt/bridge/request/permit_join",
        "zigbee2mqtt/lamp/set",
        "zigbee2mqtt/lamp/get",
        "zigbee2mqtt/kitchen/lamp/set/brightness",
    ],
)
def test_bridge_and_commands_are_ignored(topic: str) -> None:
    d = decode(topic, '{"state":"ON","brightness":10,"temperature":99}')
    assert d.readings == ()
    assert d.family == "zigbee2mqtt"


def test_illuminance_presence_pressure_and_nothing_for_absent_keys() -> None:
    d = decode(
        "zigbee2mqtt/room",
        '{"illuminance":12000,"illuminance_lux":35,"presence":true,"pressure":1013.2,"co2":612,'
        '"battery":null,"state":"ON"}',
    )
    got = {r.metric: (r.value, r.unit) for r in d.readings}
    assert got == {
        "illuminance": (35.0, "lx"),
        "occupancy": (True, None),
        "pressure": (pytest.approx(101320.0), "Pa"),
        "co2": (612.0, "ppm"),
    }
    assert "water_leak" not in got
    assert "battery" not in got


def test_empty_payload_clears_a_retained_message_and_says_nothing() -> None:
    assert decode("zigbee2mqtt/old sensor", b"").readings == ()


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("zigbee2mqtt", "{}", "no friendly name"),
        ("zigbee2mqtt/x", "21.5", "expected an object"),
        ("zigbee2mqtt/x", "ON", "set zigbee2mqtt's output to json"),
        ("zigbee2mqtt/x", '{"contact":"maybe"}', "contact 'maybe' is not a boolean"),
        ("zigbee2mqtt/x", '{"temperature":"hot"}', "temperature 'hot' is not a number"),
        ("zigbee2mqtt/x", '{"temperature":1,"last_seen":"igår"}', "last_seen 'igår'"),
        ("zigbee2mqtt/x/availability", "maybe", "expected"),
        ("zigbee2mqtt/x/availability", '{"status":"online"}', "availability of 'x'"),
    ],
)
def test_rejections_have_reasons(topic: str, payload: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(topic, payload)


def test_router_sends_zigbee2mqtt_topics_here_and_others_elsewhere() -> None:
    router = FormatRouter()
    assert router.family_for("zigbee2mqtt/kitchen/fridge door") == "zigbee2mqtt"
    assert router.family_for("zigbee2mqtt/bridge/state") == "zigbee2mqtt"
    assert router.family_for("kv/dev-1/up") == "native"
    assert router.family_for("tele/plug/SENSOR") == "tasmota"
    assert router.family_for("homeassistant/binary_sensor/0x1/contact/config") == "homeassistant"
    assert router.family_for("somewhere/else") is None
