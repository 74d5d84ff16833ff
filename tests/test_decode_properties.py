"""Property-based: arbitrary and mutated payloads at every decoder.

Whatever arrives, a decoder returns a ``Decoded`` whose readings are well formed (aware UTC
times, finite numbers, printable by the CLI) or raises ``DecodeError`` with a reason. Anything
else would stop a pipeline batch. Example counts are modest to keep the suite fast.
"""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.reading import Decoded
from ingest.errors import DecodeError
from ingest.formats import DECODERS
from tests.support.decode_examples import (
    CHIRPSTACK_V3_PB_UP,
    CHIRPSTACK_V4_STATUS,
    CHIRPSTACK_V4_UP,
    ELSYS_OBJECT,
    MILESIGHT_SLD_OBJECT,
    TTS_UP,
    with_object,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: family -> (a topic it owns, a documented-shape payload)
SEEDS: dict[str, list[tuple[str, Any]]] = {
    "native": [("kv/dev-1/up", {"time": "2026-01-15T12:00:00Z", "values": {"temperature": 4}})],
    "chirpstack": [
        (
            "application/1/device/0101010101010101/event/up",
            with_object(CHIRPSTACK_V4_UP, "object", {**ELSYS_OBJECT, **MILESIGHT_SLD_OBJECT}),
        ),
        ("application/1/device/0101010101010101/event/status", CHIRPSTACK_V4_STATUS),
        ("application/1/device/0202020202020202/event/up", CHIRPSTACK_V3_PB_UP),
    ],
    "ttn": [
        (
            "v3/app1@tenant1/devices/dev1/up",
            {
                **TTS_UP,
                "uplink_message": {
                    **TTS_UP["uplink_message"],
                    "f_cnt": 3,
                    "decoded_payload": {
                        **MILESIGHT_SLD_OBJECT,
                        "history": [{"timestamp": 1665561758, "temperature": 1}],
                    },
                },
            },
        )
    ],
    "zigbee2mqtt": [
        (
            "zigbee2mqtt/kitchen/fridge door",
            {
                "contact": False,
                "battery": 90,
                "voltage": 3000,
                "linkquality": 90,
                "temperature": "4.5",
                "last_seen": 1571758933000,
                "illuminance_lux": 3,
            },
        ),
        ("zigbee2mqtt/kitchen/fridge door/availability", {"state": "online"}),
    ],
    "tasmota": [
        (
            "tele/kok/SENSOR",
            {
                "Time": "2026-01-15T12:00:00",
                "DS18B20-1": {"Temperature": -18},
                "ENERGY": {"Power": [1, 2], "Total": 3},
                "TempUnit": "F",
                "PressureUnit": "hPa",
            },
        )
    ],
    "senml": [
        (
            "senml/x",
            [
                {"bn": "dev:", "bt": 1.7e9, "bu": "Cel", "n": "temp", "v": 1},
                {"n": "door", "vb": True, "t": -5},
                {"n": "energy", "u": "kWh", "s": 2},
            ],
        )
    ],
    "homeassistant": [("homeassistant/sensor/x/temperature/config", {"name": "t"})],
}

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "NaN", "1e400", "open", "leak", "online", "-0", "2019-10-22T15:42:13Z"])
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def check(family: str, topic: str, payload: bytes) -> None:
    try:
        decoded = DECODERS[family](topic, payload, NOW)
    except DecodeError as exc:
        reason = str(exc)
        assert reason, "a rejection needs a reason"
        assert "\n" not in reason, "the CLI prints the reason on one line"
        return
    assert isinstance(decoded, Decoded)
    for r in decoded.readings:
        assert isinstance(r.device_ref, str)
        assert r.device_ref
        assert isinstance(r.metric, str)
        assert r.metric
        assert r.time.tzinfo is not None
        assert r.time.utcoffset() == timedelta(0)
        assert isinstance(r.value, bool | float | str)
        if isinstance(r.value, float):
            assert math.isfinite(r.value)
        orjson.dumps(r.as_json())  # what `kommunvakt decode` prints


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    doc = copy.deepcopy(doc)
    node = doc
    for step in path[:-1]:
        node = node[step]
    if new is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return doc


_DELETE = object()
ALL = sorted(DECODERS)


@pytest.mark.parametrize("family", ALL)
@SETTINGS
@given(topic=st.text(max_size=40), payload=st.binary(max_size=200))
def test_arbitrary_bytes_on_arbitrary_topics(family: str, topic: str, payload: bytes) -> None:
    check(family, topic, payload)


@pytest.mark.parametrize("family", ALL)
@SETTINGS
@given(data=st.data(), value=json_value)
def test_arbitrary_json_on_the_family_topic(family: str, data: st.DataObject, value: Any) -> None:
    topic, _seed = data.draw(st.sampled_from(SEEDS[family]))
    check(family, topic, json.dumps(value).encode())


@pytest.mark.parametrize("family", ALL)
@SETTINGS
@given(data=st.data())
def test_mutated_documented_payloads(family: str, data: st.DataObject) -> None:
    topic, seed = data.draw(st.sampled_from(SEEDS[family]))
    doc = seed
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        new = _DELETE if path and data.draw(st.booleans()) else data.draw(json_value)
        try:
            doc = _replace(doc, path, new)
        except (KeyError, IndexError, TypeError):
            continue
    check(family, topic, json.dumps(doc).encode())


@pytest.mark.parametrize("family", ALL)
@SETTINGS
@given(data=st.data())
def test_truncated_and_bit_flipped_payloads(family: str, data: st.DataObject) -> None:
    topic, seed = data.draw(st.sampled_from(SEEDS[family]))
    raw = bytearray(orjson.dumps(seed))
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    flips = data.draw(st.lists(st.integers(min_value=0, max_value=len(raw) - 1), max_size=3))
    for i in flips:
        raw[i] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    check(family, topic, bytes(raw[:cut]) if data.draw(st.booleans()) else bytes(raw))


def test_the_seeds_decode_to_readings() -> None:
    """The mutations start from payloads that really decode (otherwise they prove little)."""
    for family, seeds in SEEDS.items():
        if family == "homeassistant":
            continue
        for topic, seed in seeds:
            assert DECODERS[family](topic, orjson.dumps(seed), NOW).readings, (family, topic)
