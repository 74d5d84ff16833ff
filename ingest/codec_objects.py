"""Decoded codec objects (what a LoRaWAN network server's payload codec made of the bytes).

ChirpStack (``object``) and The Things Stack (``decoded_payload``) both hand us the JSON object
the device vendor's codec produced. The keys are the vendor's, so this module maps the keys of
the codecs municipalities actually run to canonical metrics:

* Elsys (elsys.se generic decoder): ``temperature``, ``humidity``, ``light``, ``co2``,
  ``vdd`` (mV), ``motion`` (count of PIR triggers), ``occupancy`` (0 free, 1 pending,
  2 occupied), ``waterleak`` (0–255), ``externalTemperature``, ``pressure`` (hPa),
  ``digital`` (external digital input), ``pulse1``/``pulseAbs``.
* Milesight (Milesight-IoT/SensorDecoders): ``temperature``, ``humidity``, ``battery`` (%),
  ``leakage_status`` ("leak"/"normal"), ``magnet_status`` / ``door`` ("open"/"close"),
  ``pir`` ("trigger"/"idle"), ``co2``, ``pressure`` (hPa), and ``history`` arrays of
  ``{"timestamp": epoch s, ...}`` entries, each a reading at its own time.

Keys we do not know are ignored (a vendor object carries far more than we monitor); a known key
with a value we cannot read rejects the message with the key in the reason. ``null`` says
nothing. Things we deliberately do *not* guess: Elsys ``digital`` is wired by the installer, so it
becomes ``digital_input`` and not ``door_open``; an external probe is ``external_temperature``,
not ``temperature`` (the box's own sensor and the probe measure different places).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from devices.reading import Reading, Value
from ingest.errors import DecodeError
from ingest.values import as_bool, as_number, finite, parse_time

__all__ = ["readings_from_object"]

Convert = Callable[[object, str], Value | None]


def _num(factor: float = 1.0, divisor: float = 1.0) -> Convert:
    def convert(raw: object, key: str) -> Value:
        return finite(as_number(raw, field=key) * factor / divisor, field=key)

    return convert


def _states(true: set[str], false: set[str]) -> Convert:
    """Vendor state strings ("leak"/"normal", "open"/"close") or 0/1 and booleans."""

    def convert(raw: object, key: str) -> Value:
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text in true:
                return True
            if text in false:
                return False
        try:
            return as_bool(raw, field=key)
        except DecodeError:
            expected = "/".join(sorted(true | false))
            raise DecodeError(f"{key} {str(raw)[:40]!r} is not one of {expected} or 0/1") from None

    return convert


def _positive(raw: object, key: str) -> Value:
    """A count or level where anything above zero means "yes" (PIR triggers, leak level)."""
    return as_number(raw, field=key) > 0


def _elsys_occupancy(raw: object, key: str) -> Value | None:
    # Elsys ERS: 0 no body, 1 pending (someone entering or leaving), 2 occupied. "Pending"
    # is not a statement either way, so it yields nothing.
    level = as_number(raw, field=key)
    if level == 1:
        return None
    return level >= 2


_OPEN = _states({"open", "opened"}, {"close", "closed"})
_LEAK = _states({"leak", "leakage", "wet"}, {"normal", "dry", "no leak"})
_PIR = _states({"trigger", "triggered", "motion"}, {"idle", "normal", "no motion"})

#: vendor key -> (metric, unit, converter)
_KEYS: dict[str, tuple[str, str | None, Convert]] = {
    "temperature": ("temperature", "Cel", _num()),
    "humidity": ("humidity", "%RH", _num()),
    "battery": ("battery", "%EL", _num()),
    "co2": ("co2", "ppm", _num()),
    "light": ("illuminance", "lx", _num()),
    "illuminance": ("illuminance", "lx", _num()),
    "vdd": ("voltage", "V", _num(divisor=1000.0)),
    "pressure": ("pressure", "Pa", _num(100.0)),
    "externalTemperature": ("external_temperature", "Cel", _num()),
    "externalTemperature2": ("external_temperature_2", "Cel", _num()),
    "motion": ("motion", None, _positive),
    "pir": ("motion", None, _PIR),
    "occupancy": ("occupancy", None, _elsys_occupancy),
    "waterleak": ("water_leak", None, _positive),
    "leakage_status": ("water_leak", None, _LEAK),
    "water_leak": ("water_leak", None, _LEAK),
    "magnet_status": ("door_open", None, _OPEN),
    "door": ("door_open", None, _OPEN),
    "door_open": ("door_open", None, _OPEN),
    "digital": ("digital_input", None, _states({"high"}, {"low"})),
    "pulse1": ("pulse_count", "count", _num()),
    "pulse": ("pulse_count", "count", _num()),
    "pulseAbs": ("pulse_total", "count", _num()),
}

#: History entries carry at most this many points (Milesight sends up to a few hundred).
MAX_HISTORY = 1000


def _flat(obj: dict[str, object], device_ref: str, when: datetime, out: list[Reading]) -> None:
    seen: set[str] = set()
    for key, raw in obj.items():
        spec = _KEYS.get(key)
        if spec is None or raw is None:
            continue
        metric, unit, convert = spec
        if metric in seen:
            # Two keys for one metric (``pir`` and ``motion``): the first one speaks.
            continue
        value = convert(raw, key)
        if value is None:
            continue
        seen.add(metric)
        out.append(Reading(device_ref, when, metric, value, unit))


def readings_from_object(obj: dict[str, object], device_ref: str, when: datetime) -> list[Reading]:
    """Canonical readings from a vendor codec object; ``when`` is the uplink's time."""
    out: list[Reading] = []
    _flat(obj, device_ref, when, out)
    history = obj.get("history")
    if isinstance(history, list):
        if len(history) > MAX_HISTORY:
            raise DecodeError(f"history has {len(history)} entries, over {MAX_HISTORY}")
        for i, entry in enumerate(history):
            if not isinstance(entry, dict):
                raise DecodeError(f"history[{i}] is not an object")
            stamp = entry.get("timestamp")
            if stamp is None:
                raise DecodeError(f"history[{i}] has no timestamp")
            at = parse_time(stamp, field=f"history[{i}].timestamp")
            _flat(entry, device_ref, at, out)
    return out
