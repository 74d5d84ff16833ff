"""Tasmota telemetry: ``tele/<topic>/SENSOR`` and ``tele/<topic>/LWT``.

Source: tasmota.github.io/docs/MQTT and docs/JSON-Status-Responses.

``SENSOR`` is a JSON object of sensor sub-objects named after the driver (``DS18B20``,
``AM2301``, ``SI7021``, ``BME280``, ``SHT3X``, ``ENERGY``, ...). Read from each: ``Temperature``
(converted to Cel when ``TempUnit`` is ``F``), ``Humidity`` %RH, ``Pressure`` (``PressureUnit``
hPa or mmHg) → Pa, ``Illuminance`` lx, ``CarbonDioxide`` ppm, and from ``ENERGY`` ``Voltage`` V,
``Current`` A, ``Power`` W and ``Total`` kWh (``energy``). Other fields are ignored.

``LWT`` is ``Online`` / ``Offline`` (Tasmota's defaults) → metric ``online``.

``device_ref`` is the Tasmota topic (the levels between ``tele`` and the last one). When two
sensors of one message report the same metric (two DS18B20 probes in two freezers, or an AM2301
next to a probe), each of those sensors becomes its own device ``<topic>/<sensor name>``
(``kok-frys/DS18B20-1``), so one ESP can serve two registered devices without mixing them.

``Time`` is Tasmota's *local* time without an offset. A naive time would be off by one or two
hours in Sweden, so it is only used when it carries an offset; otherwise the reading gets the
receive time (telemetry is published the moment it is taken).
"""

from __future__ import annotations

import re
from datetime import datetime

from devices.reading import Decoded, Reading
from ingest.errors import DecodeError
from ingest.values import as_number, finite, load_json_object, parse_time

__all__ = ["FAMILY", "TOPICS", "decode"]

FAMILY = "tasmota"
TOPICS = ("tele/+/SENSOR", "tele/+/LWT")

#: Tasmota field -> (metric, unit)
_FIELDS: dict[str, tuple[str, str]] = {
    "Temperature": ("temperature", "Cel"),
    "Humidity": ("humidity", "%RH"),
    "Pressure": ("pressure", "Pa"),
    "Illuminance": ("illuminance", "lx"),
    "CarbonDioxide": ("co2", "ppm"),
}
_ENERGY: dict[str, tuple[str, str]] = {
    "Voltage": ("voltage", "V"),
    "Current": ("current", "A"),
    "Power": ("power", "W"),
    "Total": ("energy", "kWh"),
}
_PRESSURE_TO_PA = {"hPa": 100.0, "mmHg": 133.322387415, "inHg": 3386.389}
_LWT = {"online": True, "offline": False}
_OFFSET = re.compile(r"T.*(?:[Zz]|[+-]\d{2}:?\d{2})$")


def _time(data: dict[str, object], received_at: datetime) -> datetime:
    raw = data.get("Time")
    if isinstance(raw, str):
        text = raw.strip()
        has_offset = _OFFSET.search(text) is not None
        if has_offset:
            return parse_time(text, field="Time")
        # Naive local time is not trusted, but it must at least be a time.
        parse_time(text, field="Time")
        return received_at
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return parse_time(raw, field="Time")  # Tasmota "Time 4": epoch, unambiguous
    return received_at


def _sensor_values(
    name: str, sensor: dict[str, object], fahrenheit: bool, pa_per_unit: float
) -> list[tuple[str, float, str]]:
    fields = _ENERGY if name == "ENERGY" else _FIELDS
    out = []
    for key, (metric, unit) in fields.items():
        raw = sensor.get(key)
        if raw is None:
            continue
        if isinstance(raw, list):  # ENERGY on multi-phase meters: one value per phase
            if not raw:
                continue
            raw = raw[0] if len(raw) == 1 else sum(as_number(v, field=f"{name}.{key}") for v in raw)
        field = f"{name}.{key}"
        value = as_number(raw, field=field)
        if metric == "temperature" and fahrenheit:
            value = (value - 32.0) * 5.0 / 9.0
        elif metric == "pressure":
            value *= pa_per_unit
        out.append((metric, finite(value, field=field), unit))
    return out


def decode(topic: str, payload: bytes, received_at: datetime) -> Decoded:
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != "tele" or parts[-1] not in ("SENSOR", "LWT"):
        raise DecodeError(f"topic {topic[:80]!r} is not tele/<topic>/SENSOR or tele/<topic>/LWT")
    ref = "/".join(parts[1:-1])
    if not ref:
        raise DecodeError(f"topic {topic[:80]!r} has an empty Tasmota topic")
    if parts[-1] == "LWT":
        text = payload.decode("utf-8", "replace").strip()
        online = _LWT.get(text.lower())
        if online is None:
            raise DecodeError(f"LWT payload {text[:40]!r} is neither Online nor Offline")
        return Decoded((Reading(ref, received_at, "online", online, None),), ref, family=FAMILY)

    data = load_json_object(payload)
    when = _time(data, received_at)
    unit = data.get("TempUnit", "C")
    if unit not in ("C", "F"):
        raise DecodeError(f"TempUnit {str(unit)[:10]!r} is neither C nor F")
    p_unit = data.get("PressureUnit", "hPa")
    pa_per_unit = _PRESSURE_TO_PA.get(p_unit) if isinstance(p_unit, str) else None
    if pa_per_unit is None:
        raise DecodeError(f"PressureUnit {str(p_unit)[:10]!r} is not hPa, mmHg or inHg")
    per_sensor = [
        (name, _sensor_values(name, sensor, unit == "F", pa_per_unit))
        for name, sensor in data.items()
        if isinstance(sensor, dict)
    ]
    counts: dict[str, int] = {}
    for _name, values in per_sensor:
        for metric, _v, _u in values:
            counts[metric] = counts.get(metric, 0) + 1
    readings = [
        Reading(ref if counts[metric] == 1 else f"{ref}/{name}", when, metric, value, u)
        for name, values in per_sensor
        for metric, value, u in values
    ]
    return Decoded(tuple(readings), device_ref=ref, family=FAMILY)
