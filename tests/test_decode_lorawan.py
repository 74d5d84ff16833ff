"""ChirpStack (v4, v3 JSON, v3 Protobuf-JSON) and The Things Stack v3, from their documented
examples, plus the Elsys and Milesight codec objects they carry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from devices.reading import Decoded
from ingest import chirpstack, ttn
from ingest.errors import DecodeError
from tests.support.decode_examples import (
    CHIRPSTACK_V3_JSON_STATUS,
    CHIRPSTACK_V3_JSON_UP,
    CHIRPSTACK_V3_PB_UP,
    CHIRPSTACK_V4_JOIN,
    CHIRPSTACK_V4_STATUS,
    CHIRPSTACK_V4_UP,
    ELSYS_OBJECT,
    MILESIGHT_SLD_OBJECT,
    TTS_UP,
    dumps,
    with_object,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
V4_TIME = datetime(2022, 7, 18, 9, 34, 15, 775023, tzinfo=UTC)
CS_V4 = "application/17c82e96/device/0101010101010101/event/"
CS_V3 = "application/123/device/0202020202020202/event/"


def values(decoded: Decoded) -> dict[str, Any]:
    return {(r.metric): (r.value, r.unit) for r in decoded.readings}


def test_v4_documented_uplink_without_codec_yields_nothing_but_names_the_frame() -> None:
    d = chirpstack.decode(CS_V4 + "up", dumps(CHIRPSTACK_V4_UP), NOW)
    assert d.readings == ()
    assert d.device_ref == "0101010101010101"
    # fCnt 0 is left out by Protobuf-JSON; DevAddr names the session.
    assert d.dedup_key == "chirpstack:0101010101010101:00189440:0"
    assert d.family == "chirpstack"


def test_v4_uplink_with_elsys_object() -> None:
    msg = with_object(CHIRPSTACK_V4_UP, "object", ELSYS_OBJECT, fCnt=42)
    d = chirpstack.decode(CS_V4 + "up", dumps(msg), NOW)
    assert values(d) == {
        "temperature": (21.3, "Cel"),
        "humidity": (35.0, "%RH"),
        "illuminance": (120.0, "lx"),
        "motion": (True, None),
        "voltage": (pytest.approx(3.648), "V"),
        "occupancy": (True, None),
        "water_leak": (False, None),
        "external_temperature": (-19.4, "Cel"),
        "digital_input": (True, None),
        "rssi": (-36.0, "dBm"),
        "snr": (10.5, "dB"),
    }
    assert {r.time for r in d.readings} == {V4_TIME}
    assert {r.device_ref for r in d.readings} == {"0101010101010101"}
    assert d.dedup_key == "chirpstack:0101010101010101:00189440:42"


def test_v4_uplink_with_milesight_object_and_history() -> None:
    obj = {
        **MILESIGHT_SLD_OBJECT,
        "history": [
            {
                "temperature": 27.2,
                "humidity": 46.5,
                "leakage_status": "leak",
                "timestamp": 1665561758,
            }
        ],
    }
    d = chirpstack.decode(CS_V4 + "up", dumps(with_object(CHIRPSTACK_V4_UP, "object", obj)), NOW)
    now_part = [r for r in d.readings if r.time == V4_TIME]
    history = [r for r in d.readings if r.time != V4_TIME]
    assert {r.metric: r.value for r in now_part} == {
        "battery": 92.0,
        "temperature": 30.8,
        "humidity": 50.5,
        "water_leak": False,
        "rssi": -36.0,
        "snr": 10.5,
    }
    assert {r.metric: r.value for r in history} == {
        "temperature": 27.2,
        "humidity": 46.5,
        "water_leak": True,
    }
    assert {r.time for r in history} == {datetime(2022, 10, 12, 8, 2, 38, tzinfo=UTC)}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"magnet_status": "open"}, {"door_open": True}),
        ({"magnet_status": "close"}, {"door_open": False}),
        ({"door": "open"}, {"door_open": True}),
        ({"door": 0}, {"door_open": False}),
        ({"leakage_status": "leak"}, {"water_leak": True}),
        ({"pir": "trigger"}, {"motion": True}),
        ({"pir": "idle", "motion": 5}, {"motion": False}),  # first key speaks
        ({"occupancy": 1}, {}),  # Elsys "pending": no statement
        ({"occupancy": 0}, {"occupancy": False}),
        ({"waterleak": 200}, {"water_leak": True}),
        ({"temperature": "21.5"}, {"temperature": 21.5}),  # numbers sent as strings
        ({"temperature": None, "humidity": 40}, {"humidity": 40.0}),  # null says nothing
        ({"temperatureSensor": 25, "unrelated": "x"}, {}),  # unknown keys: nothing
    ],
)
def test_codec_object_mapping(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    msg = with_object(CHIRPSTACK_V4_UP, "object", obj)
    msg.pop("rxInfo")
    d = chirpstack.decode(CS_V4 + "up", dumps(msg), NOW)
    assert {r.metric: r.value for r in d.readings} == expected


def test_v4_status_and_no_reading_events() -> None:
    d = chirpstack.decode(CS_V4 + "status", dumps(CHIRPSTACK_V4_STATUS), NOW)
    assert values(d) == {"battery": (88.3, "%EL"), "margin": (10.0, "dB")}
    assert d.dedup_key is None
    for event in ("join", "ack", "txack", "log", "location", "integration"):
        d = chirpstack.decode(CS_V4 + event, dumps(CHIRPSTACK_V4_JOIN), NOW)
        assert d.readings == ()
        assert d.device_ref == "0101010101010101"


def test_v4_status_on_external_power_has_no_battery() -> None:
    msg = {**CHIRPSTACK_V4_STATUS, "externalPowerSource": True}
    d = chirpstack.decode(CS_V4 + "status", dumps(msg), NOW)
    assert values(d) == {"margin": (10.0, "dB")}


def test_v3_json_marshaler() -> None:
    d = chirpstack.decode(CS_V3 + "up", dumps(CHIRPSTACK_V3_JSON_UP), NOW)
    # The documented object has no keys we know; the link quality is still real.
    assert values(d) == {"rssi": (-57.0, "dBm"), "snr": (10.0, "dB")}
    assert {r.time for r in d.readings} == {NOW}  # v3 has no event time; gateway time not used
    assert d.dedup_key == "chirpstack:0202020202020202:10"
    with_elsys = with_object(CHIRPSTACK_V3_JSON_UP, "object", {"temperature": 4.5})
    d = chirpstack.decode(CS_V3 + "up", dumps(with_elsys), NOW)
    assert values(d)["temperature"] == (4.5, "Cel")


def test_v3_protobuf_json_marshaler() -> None:
    d = chirpstack.decode(CS_V3 + "up", dumps(CHIRPSTACK_V3_PB_UP), NOW)
    assert d.device_ref == "0202020202020202"  # from base64 "AgICAgICAgI="
    assert values(d) == {"rssi": (-48.0, "dBm"), "snr": (9.0, "dB")}
    msg = {**CHIRPSTACK_V3_PB_UP, "objectJSON": '{"temperature":-18.2,"vdd":3600}'}
    d = chirpstack.decode(CS_V3 + "up", dumps(msg), NOW)
    assert values(d)["temperature"] == (-18.2, "Cel")
    assert values(d)["voltage"] == (3.6, "V")
    empty = {**CHIRPSTACK_V3_PB_UP, "objectJSON": ""}
    assert chirpstack.decode(CS_V3 + "up", dumps(empty), NOW).readings == ()


def test_v3_status_and_error_event() -> None:
    d = chirpstack.decode(CS_V3 + "status", dumps(CHIRPSTACK_V3_JSON_STATUS), NOW)
    assert values(d) == {"battery": (75.5, "%EL"), "margin": (6.0, "dB")}
    err = {"devEUI": "0202020202020202", "type": "UPLINK_CODEC", "error": "..."}
    assert chirpstack.decode(CS_V3 + "error", dumps(err), NOW).readings == ()


def test_best_gateway_is_the_strongest() -> None:
    msg = with_object(CHIRPSTACK_V4_UP, "object", {"temperature": 20})
    msg["rxInfo"] = [{"rssi": -110, "snr": -7}, {"rssi": -80, "snr": 2.5}, {"snr": 1}]
    d = chirpstack.decode(CS_V4 + "up", dumps(msg), NOW)
    assert values(d)["rssi"] == (-80.0, "dBm")
    assert values(d)["snr"] == (2.5, "dB")


def test_dedup_key_changes_with_session_and_frame() -> None:
    msg = with_object(CHIRPSTACK_V4_UP, "object", {"temperature": 20}, fCnt=7)
    a = chirpstack.decode(CS_V4 + "up", dumps(msg), NOW).dedup_key
    same = chirpstack.decode(CS_V4 + "up", dumps({**msg, "time": "2022-07-18T09:40:00Z"}), NOW)
    rejoined = chirpstack.decode(CS_V4 + "up", dumps({**msg, "devAddr": "01020304"}), NOW)
    assert same.dedup_key == a
    assert rejoined.dedup_key != a


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("application/1/device/xyz/event/up", {}, "devEui in the topic"),
        ("application/1/device/0101010101010101/up", {}, "is not application/"),
        (
            CS_V4 + "up",
            {**CHIRPSTACK_V4_UP, "deviceInfo": {"devEui": "0202020202020202"}},
            "but the payload names",
        ),
        (CS_V4 + "frobnicate", CHIRPSTACK_V4_JOIN, "unknown ChirpStack event type"),
        (CS_V4 + "up", b"\n$\x08\x01", "set json=true under \\[integration.mqtt\\]"),
        (
            CS_V3 + "up",
            {**CHIRPSTACK_V3_PB_UP, "objectJSON": "{not json"},
            "objectJSON is not JSON",
        ),
        (CS_V4 + "up", {**CHIRPSTACK_V4_UP, "object": [1, 2]}, "expected an object"),
        (
            CS_V4 + "up",
            {**CHIRPSTACK_V4_UP, "object": {"temperature": "warm"}},
            "temperature 'warm'",
        ),
        (
            CS_V4 + "up",
            {**CHIRPSTACK_V4_UP, "object": {"door": "ajar"}},
            "door 'ajar' is not one of",
        ),
        (CS_V4 + "up", {**CHIRPSTACK_V4_UP, "time": "yesterday"}, "time 'yesterday'"),
        (CS_V4 + "up", {**CHIRPSTACK_V4_UP, "fCnt": -1}, "fCnt -1 is negative"),
        (CS_V4 + "status", {**CHIRPSTACK_V4_STATUS, "batteryLevel": 180}, "outside 0..100"),
    ],
)
def test_chirpstack_rejections_have_reasons(topic: str, payload: Any, reason: str) -> None:
    raw = payload if isinstance(payload, bytes) else dumps(payload)
    with pytest.raises(DecodeError, match=reason):
        chirpstack.decode(topic, raw, NOW)


# -- The Things Stack ------------------------------------------------------------------------

TTS_TOPIC = "v3/app1@tenant1/devices/dev1/"


def test_tts_documented_uplink_without_decoded_payload_yields_nothing() -> None:
    d = ttn.decode(TTS_TOPIC + "up", dumps(TTS_UP), NOW)
    assert d.readings == ()
    assert d.device_ref == "dev1"
    assert d.dedup_key == "ttn:app1@tenant1:dev1:01da1f15:0"


@pytest.mark.parametrize("topic", [TTS_TOPIC + "up", "v3/app1/devices/dev1/up"])
def test_tts_uplink_with_decoded_payload(topic: str) -> None:
    msg = dict(TTS_UP)
    msg["uplink_message"] = {
        **TTS_UP["uplink_message"],
        "f_cnt": 12,
        "decoded_payload": MILESIGHT_SLD_OBJECT,
        "received_at": "2026-01-15T13:00:00.123456789+01:00",
    }
    d = ttn.decode(topic, dumps(msg), NOW)
    assert values(d) == {
        "battery": (92.0, "%EL"),
        "temperature": (30.8, "Cel"),
        "humidity": (50.5, "%RH"),
        "water_leak": (False, None),
        "rssi": (-35.0, "dBm"),
        "snr": (5.0, "dB"),
    }
    # nanoseconds and an offset: UTC, truncated to microseconds
    assert {r.time for r in d.readings} == {datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)}
    assert d.dedup_key is not None
    assert d.dedup_key.endswith(":dev1:01da1f15:12")


def test_tts_other_messages_yield_nothing() -> None:
    for kind in (
        "join",
        "down/queued",
        "down/sent",
        "down/ack",
        "down/nack",
        "down/failed",
        "service/data",
        "location/solved",
        "down/push",
    ):
        d = ttn.decode(TTS_TOPIC + kind, b"{}", NOW)
        assert d.readings == ()
        assert d.device_ref == "dev1"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("v3/app1/dev1/up", TTS_UP, "is not v3/"),
        (TTS_TOPIC + "sideways", TTS_UP, "unknown The Things Stack message type"),
        ("v3/app1/devices/other/up", TTS_UP, "but the payload names 'dev1'"),
        (TTS_TOPIC + "up", {"end_device_ids": {"device_id": "dev1"}}, "no uplink_message"),
        (TTS_TOPIC + "up", {"uplink_message": {"decoded_payload": "21.5"}}, "expected an object"),
    ],
)
def test_tts_rejections(topic: str, payload: Any, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        ttn.decode(topic, dumps(payload), NOW)
