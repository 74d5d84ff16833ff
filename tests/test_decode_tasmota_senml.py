"""Tasmota telemetry, SenML (RFC 8428 examples) and Home Assistant discovery configs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest import homeassistant, senml, tasmota
from ingest.errors import DecodeError

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def metrics(d: Any) -> dict[tuple[str, str], Any]:
    return {(r.device_ref, r.metric): (r.value, r.unit) for r in d.readings}


# -- Tasmota ---------------------------------------------------------------------------------


def test_tasmota_am2301_and_naive_local_time_uses_receive_time() -> None:
    payload = (
        b'{"Time":"2026-01-15T13:00:00","AM2301":{"Temperature":22.4,"Humidity":41.2,'
        b'"DewPoint":8.5},"TempUnit":"C"}'
    )
    d = tasmota.decode("tele/teknikbod-3/SENSOR", payload, NOW)
    assert metrics(d) == {
        ("teknikbod-3", "temperature"): (22.4, "Cel"),
        ("teknikbod-3", "humidity"): (41.2, "%RH"),
    }
    assert {r.time for r in d.readings} == {NOW}


def test_tasmota_fahrenheit_and_time_with_offset() -> None:
    payload = (
        b'{"Time":"2026-01-15T11:59:00+01:00","DS18B20":{"Id":"01144A0CB2AA",'
        b'"Temperature":-0.4},"TempUnit":"F"}'
    )
    d = tasmota.decode("tele/frys/SENSOR", payload, NOW)
    [reading] = d.readings
    assert reading.value == pytest.approx(-18.0)
    assert reading.time == datetime(2026, 1, 15, 10, 59, tzinfo=UTC)
    fraction = payload.replace(b"11:59:00+01:00", b"11:59:00.250+0100")
    assert tasmota.decode("tele/frys/SENSOR", fraction, NOW).readings[0].time == datetime(
        2026, 1, 15, 10, 59, 0, 250000, tzinfo=UTC
    )
    naive = payload.replace(b"11:59:00+01:00", b"11:59:00.250")
    assert tasmota.decode("tele/frys/SENSOR", naive, NOW).readings[0].time == NOW


def test_tasmota_two_probes_become_two_devices() -> None:
    payload = (
        b'{"Time":"2026-01-15T13:00:00","DS18B20-1":{"Id":"A","Temperature":-19.5},'
        b'"DS18B20-2":{"Id":"B","Temperature":-21.0},"BME280":{"Temperature":20.1,'
        b'"Humidity":30,"Pressure":1012.5},"PressureUnit":"hPa","TempUnit":"C"}'
    )
    d = tasmota.decode("tele/kok/SENSOR", payload, NOW)
    assert metrics(d) == {
        ("kok/DS18B20-1", "temperature"): (-19.5, "Cel"),
        ("kok/DS18B20-2", "temperature"): (-21.0, "Cel"),
        ("kok/BME280", "temperature"): (20.1, "Cel"),
        ("kok", "humidity"): (30.0, "%RH"),
        ("kok", "pressure"): (pytest.approx(101250.0), "Pa"),
    }
    assert d.device_ref == "kok"


def test_tasmota_energy_and_si7021() -> None:
    payload = (
        b'{"Time":"2026-01-15T13:00:00","ENERGY":{"TotalStartTime":"2025-01-01T00:00:00",'
        b'"Total":12.345,"Yesterday":1.2,"Today":0.4,"Power":"55","ApparentPower":60,'
        b'"Factor":0.9,"Voltage":231,"Current":0.24},"SI7021":{"Temperature":5.5,"Humidity":80}}'
    )
    got = metrics(tasmota.decode("tele/pump/SENSOR", payload, NOW))
    assert got == {
        ("pump", "energy"): (12.345, "kWh"),
        ("pump", "power"): (55.0, "W"),
        ("pump", "voltage"): (231.0, "V"),
        ("pump", "current"): (0.24, "A"),
        ("pump", "temperature"): (5.5, "Cel"),
        ("pump", "humidity"): (80.0, "%RH"),
    }


@pytest.mark.parametrize(("payload", "online"), [(b"Online", True), (b"Offline", False)])
def test_tasmota_lwt(payload: bytes, online: bool) -> None:
    d = tasmota.decode("tele/plug-7/LWT", payload, NOW)
    assert [(r.device_ref, r.metric, r.value, r.time) for r in d.readings] == [
        ("plug-7", "online", online, NOW)
    ]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tele/x/STATE", b"{}", "is not tele/<topic>/SENSOR"),
        ("tele/x/LWT", b"Gone fishing", "neither Online nor Offline"),
        ("tele/x/SENSOR", b'{"TempUnit":"K","DS18B20":{"Temperature":1}}', "TempUnit 'K'"),
        ("tele/x/SENSOR", b'{"DS18B20":{"Temperature":"cold"}}', "DS18B20.Temperature 'cold'"),
        ("tele/x/SENSOR", b'{"Time":"soon"}', "Time 'soon'"),
        ("tele/x/SENSOR", b"[1]", "expected an object"),
    ],
)
def test_tasmota_rejections(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        tasmota.decode(topic, payload, NOW)


# -- SenML -----------------------------------------------------------------------------------


def test_senml_single_datapoint_rfc_example() -> None:
    d = senml.decode("senml/x", b'[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]', NOW)
    assert metrics(d) == {("urn:dev:ow:10e2073a01080063", "temperature"): (23.1, "Cel")}
    assert d.readings[0].time == NOW


def test_senml_multiple_datapoints_rfc_example() -> None:
    d = senml.decode(
        "senml/x",
        b'[{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},'
        b'{"n":"current","u":"A","v":1.2}]',
        NOW,
    )
    assert metrics(d) == {
        ("urn:dev:ow:10e2073a01080063", "voltage"): (120.1, "V"),
        ("urn:dev:ow:10e2073a01080063", "current"): (1.2, "A"),
    }


def test_senml_base_time_relative_times_and_base_value() -> None:
    d = senml.decode(
        "senml/x",
        b'[{"bn":"shed-4/","bt":1.276020076e+09,"bu":"Cel","bv":20,"n":"temp","v":1.5},'
        b'{"n":"temp","t":10,"v":2},'
        b'{"bt":-60,"n":"humidity","u":"%RH","v":40},'
        b'{"n":"battery","u":"%EL","vs":"87"},'
        b'{"n":"door","vb":true,"t":-5},'
        b'{"n":"t2","v":-18}]',
        NOW,
    )
    got = [(r.device_ref, r.metric, r.value, r.unit, r.time) for r in d.readings]
    absolute = datetime.fromtimestamp(1276020076, tz=UTC)
    assert got == [
        ("shed-4", "temperature", 21.5, "Cel", absolute),
        ("shed-4", "temperature", 22.0, "Cel", absolute + timedelta(seconds=10)),
        ("shed-4", "humidity", 60.0, "%RH", NOW - timedelta(seconds=60)),  # bv 20 + 40
        ("shed-4", "battery", 87.0, "%EL", NOW - timedelta(seconds=60)),
        ("shed-4", "door_open", True, None, NOW - timedelta(seconds=65)),
        # an unknown name keeps its name and the base unit: a second probe stays its own series
        ("shed-4", "t2", 2.0, "Cel", NOW - timedelta(seconds=60)),  # bv 20 + -18
    ]
    strings = senml.decode("senml/x", b'[{"bn":"alarm-1:","n":"state","vs":"armed"}]', NOW)
    assert metrics(strings) == {("alarm-1", "state"): ("armed", None)}


def test_senml_unit_conversions_sum_and_data() -> None:
    d = senml.decode(
        "senml/x",
        b'[{"bn":"m1:","n":"temperature","u":"K","v":255.15},{"n":"voltage","u":"mV","v":3300},'
        b'{"n":"pressure","u":"hPa","v":1000},{"n":"energy","u":"kWh","s":42.5},'
        b'{"n":"blob","vd":"aGVq"}]',
        NOW,
    )
    assert metrics(d) == {
        ("m1", "temperature"): (pytest.approx(-18.0), "Cel"),
        ("m1", "voltage"): (pytest.approx(3.3), "V"),
        ("m1", "pressure"): (100000.0, "Pa"),
        ("m1", "energy_sum"): (42.5, "kWh"),
        ("m1", "blob"): ("aGVq", None),
    }


def test_senml_name_split_without_base_name() -> None:
    d = senml.decode("senml/x", b'[{"n":"urn:dev:mac:0024befffe804ff1:temp","v":4}]', NOW)
    assert metrics(d) == {("urn:dev:mac:0024befffe804ff1", "temperature"): (4.0, "Cel")}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"n":"x","v":1}', "must be a non-empty JSON array"),
        (b"[]", "must be a non-empty JSON array"),
        (b'[{"bver":11,"n":"a:temp","v":1}]', "bver 11 is newer"),
        (b'[{"n":"a:temp","v":1,"bt_":5}]', "must-understand field 'bt_'"),
        (b'[{"n":"a:temp"}]', "has no value"),
        (b'[{"n":"-bad","v":1}]', "not a valid SenML name"),
        (b'[{"bn":"d:","n":"temp","u":"%RH","v":1}]', "does not fit temperature"),
        (b'[{"bn":"d:","n":"temp","v":"warm"}]', "v 'warm' is not a number"),
        (b'[{"bn":"d:","n":"temp","v":[1]}]', "v has type list"),
        (b'[{"bn":"d:","u":"count","v":3}]', "does not say what is measured"),
        (b'[{"bn":"d:","n":"temp","v":1,"t":1e300}]', "out of range"),
        (b'[{"bn":"d:","n":"door","v":7}]', "is not a boolean"),
        (b'[{"bn":"d:","n":"temp","vb":true}]', "temperature is a number, not a boolean"),
        (b"[1]", "record 0 is not a JSON object"),
    ],
)
def test_senml_rejections(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        senml.decode("senml/x", payload, NOW)


# -- Home Assistant discovery ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (
            "homeassistant/binary_sensor/0x00158d0001a2b3c4/contact/config",
            b'{"device_class":"door","state_topic":"zigbee2mqtt/Frys","name":null}',
        ),
        ("homeassistant/sensor/tasmota_ABC/temperature/config", b'{"unit_of_measurement":"C"}'),
        ("homeassistant/sensor/garden/config", b'{"name":"x"}'),
        ("homeassistant/sensor/garden/config", b""),  # removal
        ("homeassistant/status", b"online"),
    ],
)
def test_discovery_configs_yield_no_reading(topic: str, payload: bytes) -> None:
    d = homeassistant.decode(topic, payload, NOW)
    assert d.readings == ()
    assert d.family == "homeassistant"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("homeassistant/sensor/garden/state", b"{}", "is not homeassistant/"),
        ("homeassistant/sensor/garden/config", b"[1]", "expected an object"),
        ("homeassistant/sensor/garden/config", b"{", "not JSON"),
    ],
)
def test_discovery_rejections(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        homeassistant.decode(topic, payload, NOW)
