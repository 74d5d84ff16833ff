"""SenML JSON (RFC 8428) packs, by default on ``senml/#``.

Resolution follows §4.5: base name ``bn`` + ``n``, base time ``bt`` + ``t``, base unit ``bu``
unless ``u``, base value ``bv`` + ``v``, base sum ``bs`` + ``s``; base fields hold for the
following records until replaced. A resolved time below 2**28 is relative to now (§4.5.3; "now"
is the receive time, a negative value is in the past, no time at all is now). ``bver`` above 10
and unknown must-understand fields (names ending in ``_``) reject the pack, as §4.4 and §4.2 say.
Values: ``v`` numbers, ``vs`` strings, ``vb`` booleans, ``vd`` data (kept as its base64url text),
``s`` sums (metric ``<name>_sum``).

Device and metric: with ``bn`` the device is ``bn`` without its trailing separator (``:`` ``/``
``.`` ``-`` ``_``) and the metric comes from ``n``; without ``bn`` a name like
``urn:dev:ow:1234:temp`` splits at its last ``:`` or ``/`` when the tail is a metric we know,
otherwise the whole name is the device (RFC 8428 §5.1.1 style
``{"n":"urn:dev:ow:…","u":"Cel","v":23.1}``) and the unit names the metric.
Known names (``temp``, ``humidity``, ``battery``, ``co2``, ``door``, ``leak``, ...) give
canonical metrics in canonical units; a record without a name gets its metric from a unit whose
meaning is clear (Cel → temperature, %RH → humidity, %EL → battery, lx → illuminance, Pa/hPa →
pressure, V/mV → voltage). A canonical name with a unit that does not fit (``temp`` in ``%RH``)
is rejected. Any other name keeps its own name and unit (``t1`` and ``t2`` stay two series).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import orjson

from devices.reading import CANONICAL_UNITS, Decoded, Reading, Value
from ingest.errors import DecodeError
from ingest.values import MAX_PAYLOAD_BYTES, as_bool, as_number

__all__ = ["FAMILY", "TOPICS", "decode"]

FAMILY = "senml"
TOPICS = ("senml/#",)

SENML_VERSION = 10
_RELATIVE_LIMIT = 2**28
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-:./_]*")
_SEPARATORS = ":/.-_"
_KNOWN_FIELDS = frozenset(
    {"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"}
)
_NAMES = {
    "temp": "temperature",
    "temperature": "temperature",
    "humidity": "humidity",
    "hum": "humidity",
    "rh": "humidity",
    "battery": "battery",
    "bat": "battery",
    "batt": "battery",
    "voltage": "voltage",
    "co2": "co2",
    "illuminance": "illuminance",
    "light": "illuminance",
    "lux": "illuminance",
    "pressure": "pressure",
    "rssi": "rssi",
    "snr": "snr",
    "door": "door_open",
    "door_open": "door_open",
    "leak": "water_leak",
    "water_leak": "water_leak",
    "occupancy": "occupancy",
    "presence": "occupancy",
    "motion": "motion",
    "in_bed": "in_bed",
    "fill_level": "fill_level",
    "online": "online",
}
_UNITS = {
    "Cel": "temperature",
    "%RH": "humidity",
    "%EL": "battery",
    "lx": "illuminance",
    "Pa": "pressure",
    "hPa": "pressure",
    "V": "voltage",
    "mV": "voltage",
}
#: metric -> {accepted unit: (scale, offset)} into the canonical unit
_CONVERT: dict[str, dict[str, tuple[float, float]]] = {
    "temperature": {"Cel": (1.0, 0.0), "K": (1.0, -273.15)},
    "humidity": {"%RH": (1.0, 0.0), "%": (1.0, 0.0)},
    "battery": {"%EL": (1.0, 0.0), "%": (1.0, 0.0)},
    "voltage": {"V": (1.0, 0.0), "mV": (1e-3, 0.0)},
    "pressure": {"Pa": (1.0, 0.0), "hPa": (100.0, 0.0), "kPa": (1000.0, 0.0)},
    "illuminance": {"lx": (1.0, 0.0)},
    "co2": {"ppm": (1.0, 0.0)},
    "rssi": {"dBm": (1.0, 0.0)},
    "snr": {"dB": (1.0, 0.0)},
    "fill_level": {"%": (1.0, 0.0)},
}


def _num(record: dict[str, object], key: str, i: int) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, str):  # numbers sent as strings are numbers, here too
        return as_number(value, field=f"record {i}: {key}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError(f"record {i}: {key} has type {type(value).__name__}, expected a number")
    if not math.isfinite(value):
        raise DecodeError(f"record {i}: {key} is not a finite number")
    return float(value)


def _str(record: dict[str, object], key: str, i: int) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DecodeError(f"record {i}: {key} has type {type(value).__name__}, expected a string")


def _device_and_name(bn: str, n: str, i: int) -> tuple[str, str]:
    full = bn + n
    if not _NAME.fullmatch(full):
        raise DecodeError(
            f"record {i}: name {full[:60]!r} is not a valid SenML name (RFC 8428 §4.5.1)"
        )
    if bn:
        device = bn.rstrip(_SEPARATORS)
        if device and n:
            return device, n
        if device:
            return device, ""
    cut = max(full.rfind(":"), full.rfind("/"))
    if cut > 0 and full[cut + 1 :].lower() in _NAMES:
        return full[:cut], full[cut + 1 :]
    return full, ""


def _metric(name: str, unit: str | None, i: int) -> tuple[str, str | None, float, float]:
    """(metric, unit, factor, offset). A known name names the metric; without a name the unit
    does where it is clear. An unknown name keeps its own name: two probes ``t1`` and ``t2`` in
    Cel must stay two series, not collide as one ``temperature``."""
    if name:
        canonical = _NAMES.get(name.lower())
        if canonical is None:
            return name, unit, 1.0, 0.0
    else:
        canonical = _UNITS.get(unit) if unit is not None else None
        if canonical is None:
            raise DecodeError(f"record {i}: unit {unit!r} does not say what is measured; give n")
    target = CANONICAL_UNITS.get(canonical)
    if target is None or unit is None:
        return canonical, target, 1.0, 0.0
    conversion = _CONVERT.get(canonical, {}).get(unit)
    if conversion is None:
        raise DecodeError(f"record {i}: unit {unit!r} does not fit {canonical} ({target})")
    return canonical, target, *conversion


def decode(topic: str, payload: bytes, received_at: datetime) -> Decoded:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES} limit")
    try:
        pack = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"payload is not JSON: {exc}") from exc
    if not isinstance(pack, list) or not pack:
        raise DecodeError("a SenML pack must be a non-empty JSON array of records")
    bn, bu = "", None
    bt = bv = bs = 0.0
    has_bv = has_bs = False
    readings: list[Reading] = []
    refs: list[str] = []
    for i, record in enumerate(pack):
        if not isinstance(record, dict):
            raise DecodeError(f"record {i} is not a JSON object")
        for key in record:
            if key.endswith("_") and key not in _KNOWN_FIELDS:
                raise DecodeError(
                    f"record {i}: must-understand field {key[:20]!r} is not supported"
                )
        bver = record.get("bver")
        if bver is not None:
            if isinstance(bver, bool) or not isinstance(bver, int):
                raise DecodeError(f"record {i}: bver is not an integer")
            if bver > SENML_VERSION:
                raise DecodeError(f"record {i}: bver {bver} is newer than SenML {SENML_VERSION}")
        if "bn" in record:
            bn = _str(record, "bn", i) or ""
        if "bt" in record:
            bt = _num(record, "bt", i) or 0.0
        if "bu" in record:
            bu = _str(record, "bu", i)
        if "bv" in record:
            bv, has_bv = _num(record, "bv", i) or 0.0, True
        if "bs" in record:
            bs, has_bs = _num(record, "bs", i) or 0.0, True
        n = _str(record, "n", i) or ""
        v = _num(record, "v", i)
        vs = _str(record, "vs", i)
        vb = record.get("vb")
        if vb is not None and not isinstance(vb, bool):
            raise DecodeError(f"record {i}: vb has type {type(vb).__name__}, expected a boolean")
        vd = _str(record, "vd", i)
        s = _num(record, "s", i)
        if v is None and vs is None and vb is None and vd is None and s is None:
            if not has_bv:
                if n:
                    raise DecodeError(f"record {i} ({n[:40]!r}) has no value (v, vs, vb, vd or s)")
                continue  # a record of base fields only
            v = 0.0
        device, name = _device_and_name(bn, n, i)
        resolved = bt + (_num(record, "t", i) or 0.0)
        try:
            if abs(resolved) < _RELATIVE_LIMIT:
                when = received_at + timedelta(seconds=resolved)
            else:
                when = datetime.fromtimestamp(resolved, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise DecodeError(f"record {i}: time {resolved:g} is out of range") from exc
        u = _str(record, "u", i) or bu
        metric, unit, scale, offset = _metric(name, u, i)
        refs.append(device)
        boolean = metric in CANONICAL_UNITS and CANONICAL_UNITS[metric] is None
        if vb is not None and metric in _CONVERT:
            raise DecodeError(f"record {i}: {metric} is a number, not a boolean (vb)")
        value: Value | None = None
        if vb is not None or boolean:
            raw: object = vb if vb is not None else (vs if vs is not None else v)
            if raw is None:
                raise DecodeError(f"record {i}: {metric} needs vb (a boolean)")
            value = as_bool(raw, field=f"record {i} {metric}")
        elif v is not None:
            value = ((bv if has_bv else 0.0) + v) * scale + offset
        elif vs is not None:
            if metric in _CONVERT:
                value = as_number(vs, field=f"record {i} {metric}") * scale + offset
            else:
                value = vs
        elif vd is not None:
            value = vd
        if value is not None:
            readings.append(Reading(device, when, metric, value, unit))
        if s is not None:
            total = ((bs if has_bs else 0.0) + s) * scale
            readings.append(Reading(device, when, f"{metric}_sum", total, unit))
    return Decoded(tuple(readings), device_ref=refs[0] if refs else None, family=FAMILY)
