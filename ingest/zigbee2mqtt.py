"""zigbee2mqtt device and availability topics (zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages).

* ``zigbee2mqtt/<friendly name>``: the device state as a JSON object. Friendly names may hold
  ``/``, spaces and colons, so the name is everything after the base topic. The base topic is
  the first level (z2m's default ``zigbee2mqtt``; any other one-level base works when configured
  in ``formats``).
* ``zigbee2mqtt/<friendly name>/availability``: ``{"state": "online"}`` (2.x, and 1.x with
  ``legacy_availability_payload: false``) or the plain string ``online`` / ``offline`` (1.x
  legacy) → metric ``online``.
* ``bridge/...`` topics and the commands ``<name>/set[/attr]``, ``<name>/get[/attr]`` are ours
  to ignore (no reading). An empty payload (z2m clearing a retained message) says nothing.

Reading time is ``last_seen`` when the message has it, in all three forms z2m writes
(``advanced.last_seen``): ``ISO_8601`` ("…Z"), ``ISO_8601_local`` ("…+02:00") and ``epoch``
(milliseconds); otherwise the receive time.

Normalised: ``contact`` (true = closed) → ``door_open`` = not contact; ``water_leak``,
``occupancy`` (or ``presence``), ``smoke``, ``tamper``, ``battery_low`` booleans; ``temperature``
Cel, ``humidity`` %RH, ``battery`` %EL, ``voltage`` mV → V, ``pressure`` hPa → Pa,
``illuminance_lux`` (or ``illuminance``) lx, ``co2`` ppm. ``linkquality`` is kept as
``linkquality``, unitless 0–255: it is the Zigbee LQI, not a signal strength in dBm, so it is
not ``rssi``. ``device_ref`` is the friendly name.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from devices.reading import Decoded, Reading
from ingest.errors import DecodeError
from ingest.values import MAX_PAYLOAD_BYTES, as_bool, as_number, finite, parse_time, to_utc

__all__ = ["FAMILY", "TOPICS", "decode"]

FAMILY = "zigbee2mqtt"
TOPICS = ("zigbee2mqtt/#",)

#: z2m key -> (metric, unit, factor, divisor); values are numbers (strings allowed). A divisor
#: rather than a factor of 0.001 keeps 3025 mV at exactly 3.025 V.
_NUMBERS: dict[str, tuple[str, str | None, float, float]] = {
    "temperature": ("temperature", "Cel", 1.0, 1.0),
    "humidity": ("humidity", "%RH", 1.0, 1.0),
    "battery": ("battery", "%EL", 1.0, 1.0),
    "voltage": ("voltage", "V", 1.0, 1000.0),
    "pressure": ("pressure", "Pa", 100.0, 1.0),
    "co2": ("co2", "ppm", 1.0, 1.0),
    "linkquality": ("linkquality", None, 1.0, 1.0),
}
#: z2m key -> metric; values are booleans.
_BOOLS: dict[str, str] = {
    "water_leak": "water_leak",
    "occupancy": "occupancy",
    "smoke": "smoke",
    "tamper": "tamper",
    "battery_low": "battery_low",
}
_ONLINE = {"online": True, "offline": False}


def _last_seen(value: object) -> datetime:
    # Fast path for z2m's ISO forms ("…Z", "…+02:00"); anything else (epoch ms, odd text)
    # goes through parse_time, which also words the rejection.
    if type(value) is str and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return to_utc(parsed, field="last_seen", text=value)
    return parse_time(value, field="last_seen")


def _ignored() -> Decoded:
    return Decoded((), family=FAMILY)


def _availability(name: str, payload: bytes, received_at: datetime) -> Decoded:
    text = payload.strip()
    state: object = None
    if text[:1] == b"{":
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"availability payload is not JSON: {exc}") from exc
        state = data.get("state") if isinstance(data, dict) else None
    else:
        state = text.decode("utf-8", "replace")
    online = _ONLINE.get(state.lower()) if isinstance(state, str) else None
    if online is None:
        raise DecodeError(
            f"availability of {name[:60]!r} is {text[:40].decode('utf-8', 'replace')!r}; "
            'expected {"state":"online"}, {"state":"offline"}, online or offline'
        )
    return Decoded(
        (Reading(name, received_at, "online", online, None),), device_ref=name, family=FAMILY
    )


def decode(topic: str, payload: bytes, received_at: datetime) -> Decoded:
    _base, _, rest = topic.partition("/")
    if not rest:
        raise DecodeError(f"topic {topic[:80]!r} has no friendly name after the base topic")
    if rest == "bridge" or rest.startswith("bridge/"):
        return _ignored()
    segments = rest.split("/")
    if len(segments) > 1:
        last = segments[-1]
        if last in ("set", "get") or segments[-2] in ("set", "get"):
            return _ignored()
        if last == "availability":
            return _availability("/".join(segments[:-1]), payload, received_at)
    name = rest
    if not payload.strip():
        return Decoded((), device_ref=name, family=FAMILY)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES} limit")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(
            f"payload of {name[:60]!r} is not JSON ({exc}); set zigbee2mqtt's output to json"
        ) from exc
    if not isinstance(data, dict):
        raise DecodeError(
            f"payload of {name[:60]!r} is JSON {type(data).__name__}, expected an object"
        )
    seen = data.get("last_seen")
    when = received_at if seen is None else _last_seen(seen)
    out: list[Reading] = []
    for key, raw in data.items():
        if raw is None:
            continue
        spec = _NUMBERS.get(key)
        if spec is not None:
            metric, unit, factor, divisor = spec
            value = as_number(raw, field=key)
            if divisor != 1.0:
                value /= divisor
            elif factor != 1.0:
                value = finite(value * factor, field=key)
            out.append(Reading(name, when, metric, value, unit))
            continue
        metric_b = _BOOLS.get(key)
        if metric_b is not None:
            out.append(Reading(name, when, metric_b, as_bool(raw, field=key), None))
        elif key == "contact":
            # z2m: contact true = the magnet is near = closed.
            out.append(Reading(name, when, "door_open", not as_bool(raw, field=key), None))
    lux = data.get("illuminance_lux")
    if lux is None:
        lux = data.get("illuminance")
    if lux is not None:
        out.append(Reading(name, when, "illuminance", as_number(lux, field="illuminance"), "lx"))
    if data.get("occupancy") is None and data.get("presence") is not None:
        out.append(
            Reading(name, when, "occupancy", as_bool(data["presence"], field="presence"), None)
        )
    return Decoded(tuple(out), device_ref=name, family=FAMILY)
