"""The spool's SQLite side: schema, statements and row encoding (``ingest.spool`` uses it).

Times are integer microseconds since the epoch, computed exactly; values keep their kind
(number, bool, text) so a replay writes the same field type InfluxDB saw before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from devices.reading import Value
from ingest.line_protocol import EPOCH
from ingest.store import StoredReading

__all__ = [
    "BY_DEVICE",
    "BY_METRIC",
    "INSERT",
    "OLDEST",
    "OLDEST_CHUNK",
    "PINNED_CHUNK",
    "REJECT",
    "REJECTED",
    "SCHEMA",
    "encode",
    "from_us",
    "reading",
    "us",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    enqueued_us INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    num REAL,
    txt TEXT,
    kind TEXT NOT NULL,
    unit TEXT
);
CREATE INDEX IF NOT EXISTS spool_device ON spool (device_id, metric, ts_us);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    rejected_us INTEGER NOT NULL,
    reason TEXT NOT NULL,
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    num REAL,
    txt TEXT,
    kind TEXT NOT NULL,
    unit TEXT
);
"""
_US = timedelta(microseconds=1)

INSERT = """INSERT INTO spool (enqueued_us, device_id, metric, ts_us, num, txt, kind, unit)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
OLDEST_CHUNK = """SELECT seq, enqueued_us, device_id, metric, ts_us, num, txt, kind, unit
FROM spool ORDER BY seq LIMIT ?"""
PINNED_CHUNK = """SELECT seq, enqueued_us, device_id, metric, ts_us, num, txt, kind, unit
FROM spool WHERE seq BETWEEN ? AND ? ORDER BY seq"""
REJECT = """INSERT INTO rejected
(seq, rejected_us, reason, device_id, metric, ts_us, num, txt, kind, unit)
SELECT seq, ?, ?, device_id, metric, ts_us, num, txt, kind, unit
FROM spool WHERE seq BETWEEN ? AND ?"""
OLDEST = "SELECT enqueued_us FROM spool ORDER BY seq LIMIT 1"
BY_DEVICE = """SELECT device_id, metric, ts_us, num, txt, kind, unit
FROM spool WHERE device_id = ? ORDER BY ts_us"""
BY_METRIC = """SELECT device_id, metric, ts_us, num, txt, kind, unit
FROM spool WHERE device_id = ? AND metric = ? ORDER BY ts_us"""
REJECTED = """SELECT reason, device_id, metric, ts_us, num, txt, kind, unit
FROM rejected ORDER BY seq LIMIT ?"""


def us(when: datetime) -> int:
    # integer arithmetic: a float timestamp can land a microsecond short and move a reading
    # into the previous millisecond, which is a different point in InfluxDB
    return (when - EPOCH) // _US


def from_us(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def encode(value: Value) -> tuple[float | None, str | None, str]:
    if isinstance(value, bool):
        return float(value), None, "b"
    if isinstance(value, int | float):
        return float(value), None, "n"
    return None, str(value), "s"


def reading(row: tuple[str, str, int, float | None, str | None, str, str | None]) -> StoredReading:
    device_id, metric, ts_us, num, txt, kind, unit = row
    value: Value
    if kind == "b":
        value = bool(num)
    elif kind == "n":
        value = float(num or 0.0)
    else:
        value = txt or ""
    return StoredReading(device_id, from_us(ts_us), metric, value, unit)
