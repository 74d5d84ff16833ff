"""Readings → InfluxDB line protocol: pure functions, no client.

One measurement per sensor family (the catalogue's type key), tags ``device type site place``,
one field per metric. Readings of one device at one instant share a line, so a freezer's
temperature and door state travel as one point. We format the lines ourselves: the client's
``Point`` builder costs ~6.5 µs a point against ~0.1 µs for a formatted line
(research/PERFORMANCE.md §10).

Tags never carry personal data: for a care device (a bed sensor, a safety alarm, bound to a
resident) the ``place`` tag is left out, since a room in a care home names the person who
lives in it; the device id and the site (the care unit) stay, both technical names.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from devices.reading import Value
from ingest.store import StoredReading

__all__ = ["EPOCH", "UNREGISTERED", "SeriesTags", "TagLookup", "to_lines", "to_ms"]

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: measurement and type of readings from a device the registry does not know
UNREGISTERED = "unregistered"
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class SeriesTags:
    """Where a device's points go: its measurement and its tags (already free of personal data)."""

    measurement: str
    device: str
    type: str
    site: str | None = None
    place: str | None = None


#: device id → its series tags (None: a device the registry no longer knows)
TagLookup = Callable[[str], SeriesTags | None]


def to_ms(when: datetime) -> int:
    """Milliseconds since the epoch, exactly (no float rounding).

    Millisecond precision is InfluxDB's advice for the coarsest precision that fits the data
    (sensors report seconds at best); it is also the identity of a point, so two readings of
    one metric within a millisecond are the same reading.
    """
    return (when - EPOCH) // _MS


@functools.lru_cache(maxsize=4096)  # metric names and tag values repeat endlessly
def _escape_key(text: str) -> str:
    # tag keys/values and field keys: comma, equals sign and space are escaped; a newline
    # cannot be escaped at all and would split the line, so it becomes a space.
    return (
        text.replace("\\", "\\\\")
        .replace("\n", " ")
        .replace("\r", " ")
        .replace(",", "\\,")
        .replace("=", "\\=")
        .replace(" ", "\\ ")
    )


def _escape_measurement(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", " ").replace(",", "\\,").replace(" ", "\\ ")


def _field_value(value: Value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return None  # line protocol has no NaN/Inf
        # always a float: a metric written once as 21 (integer) and once as 21.5 would be a
        # field type conflict that InfluxDB refuses for the rest of the shard
        return repr(number)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _tag_set(tags: SeriesTags) -> str:
    # sorted by key, as InfluxDB's write guide asks: device, place, site, type
    parts = [f"device={_escape_key(tags.device)}"]
    if tags.place:
        parts.append(f"place={_escape_key(tags.place)}")
    if tags.site:
        parts.append(f"site={_escape_key(tags.site)}")
    parts.append(f"type={_escape_key(tags.type)}")
    return ",".join(parts)


def _unknown(device_id: str) -> SeriesTags:
    return SeriesTags(UNREGISTERED, device_id, UNREGISTERED)


def to_lines(readings: Iterable[StoredReading], tags_for: TagLookup) -> list[str]:
    """One line per (device, millisecond), fields in first-seen order; order of first
    appearance is kept, so a replay sends lines in the order the readings were spooled."""
    points: dict[tuple[str, int], dict[str, str]] = {}
    for r in readings:
        value = _field_value(r.value)
        if value is None:
            log.warning("skipping a non-finite %s of device %s", r.metric, r.device_id)
            continue
        points.setdefault((r.device_id, to_ms(r.time)), {})[_escape_key(r.metric)] = value
    heads: dict[str, str] = {}
    lines = []
    for (device_id, ms), fields in points.items():
        head = heads.get(device_id)
        if head is None:
            tags = tags_for(device_id) or _unknown(device_id)
            head = f"{_escape_measurement(tags.measurement)},{_tag_set(tags)}"
            heads[device_id] = head
        field_set = ",".join(f"{k}={v}" for k, v in fields.items())
        lines.append(f"{head} {field_set} {ms}")
    return lines
