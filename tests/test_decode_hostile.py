"""Hostile input that knows the formats: every family's own fields filled with edge values.

The blind fuzzing in ``test_decode_properties`` rarely lands a time at the edge of the calendar
in a field a decoder actually reads. Here each family's documented shape is kept and its time
and value fields are drawn from what a broken or forged device could send: ISO 8601 at the
calendar's edges with extreme offsets, leap seconds, epoch seconds/ms/µs at the edges, NaN,
Infinity, 1e308, 10**400, nesting at orjson's depth limit, invalid UTF-8, wrong types. Whatever
arrives, a decoder returns well-formed readings or raises ``DecodeError``; anything else would
fail a pipeline batch.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import DecodeError
from ingest.formats import DECODERS
from tests.test_decode_properties import NOW, check

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EUI = "0101010101010101"

#: (family, topic, payload) the decoders once crashed on (not a DecodeError)
CRASHERS: list[tuple[str, str, Any]] = [
    ("native", "kv/d/up", {"time": "0001-01-01T00:00:00+01:00", "values": {"temperature": 1}}),
    ("native", "kv/d/up", {"time": "9999-12-31T23:59:59-14:00", "values": {"temperature": 1}}),
    ("zigbee2mqtt", "zigbee2mqtt/a", {"temperature": 1, "last_seen": "0001-01-01T00:00:00+01:00"}),
    ("zigbee2mqtt", "zigbee2mqtt/a", {"pressure": 1e308}),
    (
        "tasmota",
        "tele/k/SENSOR",
        {"Time": "0001-01-01T00:00:00+01:00", "DS18B20": {"Temperature": 1}},
    ),
    ("tasmota", "tele/k/SENSOR", {"BME280": {"Pressure": 1e308}}),
    ("tasmota", "tele/k/SENSOR", {"TempUnit": "F", "DS18B20": {"Temperature": -1.7e308}}),
    ("tasmota", "tele/k/SENSOR", {"ENERGY": {"Power": [1e308, 1e308]}}),
    (
        "chirpstack",
        f"application/1/device/{EUI}/event/up",
        {"time": "0001-01-01T00:00:00+01:00", "object": {"temperature": 1}},
    ),
    (
        "chirpstack",
        f"application/1/device/{EUI}/event/up",
        {"time": "2026-01-01T00:00:00Z", "object": {"pressure": 1e308}},
    ),
    (
        "ttn",
        "v3/a@t/devices/d/up",
        {
            "end_device_ids": {"device_id": "d"},
            "uplink_message": {
                "received_at": "0001-01-01T00:00:00+01:00",
                "decoded_payload": {"temperature": 1},
            },
        },
    ),
]


@pytest.mark.parametrize(("family", "topic", "payload"), CRASHERS)
def test_known_crashers_are_decode_errors(family: str, topic: str, payload: Any) -> None:
    with pytest.raises(DecodeError) as caught:
        DECODERS[family](topic, json.dumps(payload).encode(), NOW)
    assert "\n" not in str(caught.value)


# -- what a device could put where a time goes ------------------------------------------------

_OFFSETS = ["+14:00", "-14:00", "Z", "z", "+00:00", "+23:59", "-23:59", "+01:00", "", "+0100"]


@st.composite
def iso_times(draw: st.DrawFn) -> str:
    year = draw(st.sampled_from([1, 2, 999, 1000, 1969, 1970, 1999, 2000, 2024, 2038, 9998, 9999]))
    month, day = draw(
        st.sampled_from([(1, 1), (2, 28), (2, 29), (2, 30), (12, 31), (6, 30), (6, 31), (0, 1)])
    )
    hour = draw(st.sampled_from([0, 1, 12, 23, 24]))
    minute = draw(st.sampled_from([0, 59, 60]))
    second = draw(st.sampled_from([0, 59, 60]))  # 60: a leap second
    fraction = draw(st.sampled_from(["", ".5", ".999999", ".9999999999", ".000001"]))
    offset = draw(st.sampled_from(_OFFSETS))
    sep = draw(st.sampled_from(["T", " ", "t"]))
    return (
        f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}"
        f"{fraction}{offset}"
    )


_EPOCH_EDGES: list[int | float] = [
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    2**32,
    2**53,
    2**63 - 1,
    2**63,
    2**64,
    9_999_999_999,  # the largest taken as seconds
    10_000_000_000,  # the smallest taken as milliseconds
    253_402_300_799,  # 9999-12-31T23:59:59Z in seconds
    253_402_300_800,
    253_402_300_799_999,  # … in milliseconds
    253_402_300_800_000,
    253_402_300_799_999_999,  # … in microseconds
    -62_135_596_800,  # 0001-01-01T00:00:00Z in seconds
    -62_135_596_801,
    -62_135_596_800_000,
    1.7e9,
    1.7e12,
    1.7e15,
    1.7e18,
    1e308,
    -1e308,
    5e-324,
]

epoch_times = st.sampled_from(_EPOCH_EDGES) | st.integers(-(2**70), 2**70) | st.floats()
#: JSON text json.dumps cannot make from a finite Python value: orjson's reject these (NaN,
#: Infinity) or turns 10**400 into infinity; they are spliced in as raw text.
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", str(10**400), "-" + str(10**400), "1e400", "-0"]


class Raw:
    """A value written into the JSON text as it is (not valid JSON for json.dumps)."""

    def __init__(self, text: str) -> None:
        self.text = text


hostile_times = (
    iso_times()
    | epoch_times
    | st.sampled_from(_EPOCH_EDGES).map(str)
    | st.sampled_from(["", " ", "now", "23:59:60", "2026-02-29", "2024-02-29", "1e10", "-5"])
    | st.sampled_from(RAW_NUMBERS).map(Raw)
    | st.sampled_from([None, True, False, [], {}, [1], {"t": 1}])
)

hostile_numbers = (
    st.sampled_from([0, -0.0, 1e308, -1e308, 1.7976931348623157e308, 5e-324, 2**63, 2**64])
    | st.integers(-(2**80), 2**80)
    | st.floats()
    | st.sampled_from(["21.5", "NaN", "nan", "inf", "-inf", "1e400", "1e308", " 1 ", "", "x"])
    | st.sampled_from(RAW_NUMBERS).map(Raw)
    | st.sampled_from([None, True, False, [], {}, [1e308, 1e308], {"v": 1}])
)


def _dumps(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dumps(v) for v in value) + "]"
    return json.dumps(value)  # NaN/Infinity floats come out as such, on purpose


def encode(value: Any) -> bytes:
    return _dumps(value).encode()


def nested(depth: int) -> Raw:
    """``depth`` objects one inside the other, as text (Python's own json would recurse)."""
    return Raw('{"x":' * depth + "1" + "}" * depth)


# -- each family's shape with hostile fields --------------------------------------------------


@st.composite
def native_messages(draw: st.DrawFn) -> tuple[str, Any]:
    metrics = st.sampled_from(["temperature", "humidity", "in_bed", "door_open", "battery"])
    values = draw(st.dictionaries(metrics, hostile_numbers, min_size=1, max_size=3))
    body: dict[str, Any] = {"values": values}
    if draw(st.booleans()):
        body["time"] = draw(hostile_times)
    return "kv/dev-1/up", body


@st.composite
def senml_messages(draw: st.DrawFn) -> tuple[str, Any]:
    first: dict[str, Any] = {"bn": "urn:dev:ow:10e2073a01080063:", "n": "temp", "u": "Cel"}
    first["v"] = draw(hostile_numbers)
    if draw(st.booleans()):
        first["bt"] = draw(epoch_times | st.sampled_from(RAW_NUMBERS).map(Raw))
    second: dict[str, Any] = {"n": "door", "vb": draw(st.sampled_from([True, False, 1, "x"]))}
    if draw(st.booleans()):
        second["t"] = draw(epoch_times | st.sampled_from(RAW_NUMBERS).map(Raw))
    if draw(st.booleans()):
        second["bv"] = draw(hostile_numbers)
    return "senml/gw-1", [first, second]


_CODEC_KEYS = ["temperature", "humidity", "pressure", "vdd", "co2", "battery", "motion", "door"]


@st.composite
def codec_objects(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(_CODEC_KEYS), hostile_numbers, min_size=1, max_size=4)
    )
    if draw(st.booleans()):
        obj["history"] = [
            {"timestamp": draw(hostile_times), "temperature": draw(hostile_numbers)}
            for _ in range(draw(st.integers(1, 3)))
        ]
    return obj


@st.composite
def chirpstack_messages(draw: st.DrawFn) -> tuple[str, Any]:
    version = draw(st.sampled_from(["v4", "v3", "status"]))
    event = "status" if version == "status" else "up"
    topic = f"application/1/device/{EUI}/event/{event}"
    if version == "status":
        body: dict[str, Any] = {
            "deviceInfo": {"devEui": EUI},
            "time": draw(hostile_times),
            "batteryLevel": draw(hostile_numbers),
            "margin": draw(hostile_numbers),
        }
    elif version == "v4":
        body = {
            "deviceInfo": {"devEui": EUI},
            "time": draw(hostile_times),
            "fCnt": draw(hostile_numbers),
            "object": draw(codec_objects()),
            "rxInfo": [{"rssi": draw(hostile_numbers), "snr": draw(hostile_numbers)}],
        }
    else:
        body = {
            "devEUI": EUI,
            "publishedAt": draw(hostile_times),
            "fCnt": 3,
            "object": draw(codec_objects()),
            "rxInfo": [{"rssi": draw(hostile_numbers), "loRaSNR": draw(hostile_numbers)}],
        }
    return topic, body


@st.composite
def ttn_messages(draw: st.DrawFn) -> tuple[str, Any]:
    up: dict[str, Any] = {
        "f_cnt": draw(st.sampled_from([0, 1, 2**32]) | hostile_numbers),
        "decoded_payload": draw(codec_objects()),
        "rx_metadata": [{"rssi": draw(hostile_numbers), "snr": draw(hostile_numbers)}],
    }
    body: dict[str, Any] = {
        "end_device_ids": {"device_id": "dev1", "application_ids": {"application_id": "app1"}},
        "uplink_message": up,
    }
    if draw(st.booleans()):
        up["received_at"] = draw(hostile_times)
    else:
        body["received_at"] = draw(hostile_times)
    return "v3/app1@tenant1/devices/dev1/up", body


_Z2M_KEYS = ["temperature", "humidity", "battery", "voltage", "pressure", "contact", "water_leak"]


@st.composite
def zigbee2mqtt_messages(draw: st.DrawFn) -> tuple[str, Any]:
    if draw(st.integers(0, 5)) == 0:
        state = draw(st.sampled_from(["online", "OFFLINE", "x", "", None, 1]))
        return "zigbee2mqtt/kök/frys/availability", {"state": state}
    body: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(_Z2M_KEYS), hostile_numbers, min_size=1, max_size=4)
    )
    body["last_seen"] = draw(hostile_times)
    return "zigbee2mqtt/kök/frys", body


@st.composite
def tasmota_messages(draw: st.DrawFn) -> tuple[str, Any]:
    body: dict[str, Any] = {
        "Time": draw(hostile_times),
        "TempUnit": draw(st.sampled_from(["C", "F"])),
        "DS18B20": {"Temperature": draw(hostile_numbers)},
        "BME280": {"Pressure": draw(hostile_numbers), "Humidity": draw(hostile_numbers)},
        "ENERGY": {"Power": [draw(hostile_numbers), draw(hostile_numbers)]},
    }
    return "tele/kok/SENSOR", body


@st.composite
def homeassistant_messages(draw: st.DrawFn) -> tuple[str, Any]:
    config = {"name": draw(st.text(max_size=8)), "expire_after": draw(hostile_numbers)}
    return "homeassistant/sensor/kok/temp/config", config


FAMILY_MESSAGES: dict[str, st.SearchStrategy[tuple[str, Any]]] = {
    "native": native_messages(),
    "senml": senml_messages(),
    "chirpstack": chirpstack_messages(),
    "ttn": ttn_messages(),
    "zigbee2mqtt": zigbee2mqtt_messages(),
    "tasmota": tasmota_messages(),
    "homeassistant": homeassistant_messages(),
}


def test_every_family_has_a_hostile_generator() -> None:
    assert set(FAMILY_MESSAGES) == set(DECODERS)


@pytest.mark.parametrize("family", sorted(FAMILY_MESSAGES))
@FUZZ
@given(data=st.data())
def test_hostile_fields_in_the_family_shape(family: str, data: st.DataObject) -> None:
    topic, body = data.draw(FAMILY_MESSAGES[family])
    check(family, topic, encode(body))


@pytest.mark.parametrize("family", sorted(FAMILY_MESSAGES))
@settings(max_examples=15, deadline=None)
@given(data=st.data(), depth=st.sampled_from([200, 1023, 1024, 1025, 5000]))
def test_deep_nesting_in_the_family_shape(family: str, data: st.DataObject, depth: int) -> None:
    """orjson stops at 1024 levels; a decoder that walks what it parsed must not recurse
    past Python's own limit either."""
    topic, body = data.draw(FAMILY_MESSAGES[family])
    if isinstance(body, dict):
        key = data.draw(st.sampled_from(sorted(body)))
        body = {**body, key: nested(depth)}
    else:
        body = [*body, nested(depth)]
    check(family, topic, encode(body))


@pytest.mark.parametrize("family", sorted(FAMILY_MESSAGES))
@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    junk=st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00"]),
)
def test_invalid_utf8_in_the_family_shape(family: str, data: st.DataObject, junk: bytes) -> None:
    topic, body = data.draw(FAMILY_MESSAGES[family])
    raw = encode(body)
    quotes = [i for i, b in enumerate(raw) if b == ord('"')]
    at = data.draw(st.sampled_from(quotes)) + 1 if quotes else 0
    check(family, topic, raw[:at] + junk + raw[at:])
