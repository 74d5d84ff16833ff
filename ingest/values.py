"""Small pure helpers shared by the decoders: JSON, times and numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson

from ingest.errors import DecodeError

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "as_bool",
    "as_number",
    "finite",
    "load_json_object",
    "parse_time",
    "to_utc",
]

#: Larger payloads are rejected before parsing: no sensor sends this much.
MAX_PAYLOAD_BYTES = 256 * 1024

# Epoch values above this are taken as milliseconds (year 2286 in seconds).
_EPOCH_MS_THRESHOLD = 10_000_000_000


def load_json_object(payload: bytes) -> dict[str, object]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES} limit")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(
            f"payload is not JSON: {exc.msg if hasattr(exc, 'msg') else exc}"
        ) from exc
    if not isinstance(data, dict):
        raise DecodeError(f"payload is JSON {type(data).__name__}, expected an object")
    return data


def parse_time(value: object, *, field: str = "time") -> datetime:
    """ISO 8601 (with offset or Z; naive means UTC) or epoch seconds/milliseconds → UTC."""
    if isinstance(value, bool):
        raise DecodeError(f"{field} is a boolean, expected ISO 8601 or epoch seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DecodeError(f"{field} is not a finite number")
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise DecodeError(f"{field} {value!r} is out of range") from exc
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.replace(".", "", 1).isdigit():
                return parse_time(float(text), field=field)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except (ValueError, DecodeError) as exc:
            raise DecodeError(f"{field} {value[:40]!r} is not ISO 8601 or epoch") from exc
        return to_utc(parsed, field=field, text=value)
    raise DecodeError(f"{field} has type {type(value).__name__}, expected ISO 8601 or epoch")


def to_utc(parsed: datetime, *, field: str, text: str) -> datetime:
    """A parsed ISO 8601 time in UTC (naive means UTC). An offset can carry a time that exists
    locally past the calendar's edge in UTC (0001-01-01T00:00+01:00 is in year 0)."""
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise DecodeError(f"{field} {text[:40]!r} is outside the years 1-9999 in UTC") from exc


def finite(value: float, *, field: str) -> float:
    """A converted number (scaled, °F to °C, summed) that is still finite: 1e308 hPa is not."""
    if not math.isfinite(value):
        raise DecodeError(f"{field} is out of range after conversion")
    return value


def as_number(value: object, *, field: str) -> float:
    """A finite number; numbers sent as strings ("21.5") are numbers."""
    if isinstance(value, bool):
        raise DecodeError(f"{field} is a boolean, expected a number")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError as exc:
            raise DecodeError(f"{field} {value[:40]!r} is not a number") from exc
    else:
        raise DecodeError(f"{field} has type {type(value).__name__}, expected a number")
    if not math.isfinite(result):
        raise DecodeError(f"{field} is not a finite number")
    return result


_TRUE = {"true", "on", "1", "yes", "open", "wet", "detected"}
_FALSE = {"false", "off", "0", "no", "closed", "dry", "clear"}


def as_bool(value: object, *, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise DecodeError(f"{field} {str(value)[:40]!r} is not a boolean")
