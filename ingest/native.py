"""The native format: ``kv/<device_id>/up`` with ``{"time": ..., "values": {...}}``.

``time`` is optional (ISO 8601 or epoch seconds/ms; receive time when absent). Every key of
``values`` must be a canonical metric; numbers may come as strings.
"""

from __future__ import annotations

from datetime import datetime

from devices.reading import CANONICAL_UNITS, Decoded, Reading
from ingest.errors import DecodeError
from ingest.values import as_bool, as_number, load_json_object, parse_time

__all__ = ["TOPICS", "decode"]

TOPICS = ("kv/+/up",)


def decode(topic: str, payload: bytes, received_at: datetime) -> Decoded:
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "kv" or parts[2] != "up" or not parts[1]:
        raise DecodeError(f"topic {topic[:80]!r} is not kv/<device_id>/up")
    device_ref = parts[1]
    data = load_json_object(payload)
    when = parse_time(data["time"]) if data.get("time") is not None else received_at
    values = data.get("values")
    if not isinstance(values, dict) or not values:
        raise DecodeError('payload has no "values" object with at least one metric')
    readings = []
    for metric, raw in values.items():
        if metric not in CANONICAL_UNITS:
            raise DecodeError(f"unknown metric {metric[:40]!r}")
        unit = CANONICAL_UNITS[metric]
        value: float | bool = (
            as_number(raw, field=metric) if unit is not None else as_bool(raw, field=metric)
        )
        readings.append(Reading(device_ref, when, metric, value, unit))
    return Decoded(tuple(readings), device_ref=device_ref, family="native")
