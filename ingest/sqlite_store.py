"""The embedded reading store: SQLite in WAL mode, one transaction per batch.

Readings are keyed by (device, metric, time), so a message the broker delivers again after a
crash is stored once. Times are integer microseconds since the epoch, UTC.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ingest.errors import StoreError
from ingest.reading import Value
from ingest.store import LatestValue, StoredReading

__all__ = ["SqliteReadingStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts INTEGER NOT NULL,
    num REAL,
    txt TEXT,
    kind TEXT NOT NULL,
    unit TEXT,
    PRIMARY KEY (device_id, metric, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts INTEGER NOT NULL,
    num REAL,
    txt TEXT,
    kind TEXT NOT NULL,
    unit TEXT,
    PRIMARY KEY (device_id, metric)
) WITHOUT ROWID;
"""

_INSERT = "INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?, ?, ?, ?)"
_UPSERT_LATEST = """
INSERT INTO latest VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (device_id, metric) DO UPDATE SET
    ts = excluded.ts, num = excluded.num, txt = excluded.txt, kind = excluded.kind,
    unit = excluded.unit
WHERE excluded.ts >= latest.ts
"""


def _to_us(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def _from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


def _encode(value: Value) -> tuple[float | None, str | None, str]:
    if isinstance(value, bool):
        return float(value), None, "b"
    if isinstance(value, int | float):
        return float(value), None, "n"
    return None, str(value), "s"


def _decode(num: float | None, txt: str | None, kind: str) -> Value:
    if kind == "b":
        return bool(num)
    if kind == "n":
        return float(num or 0.0)
    return txt or ""


class SqliteReadingStore:
    """Thread-safe: one connection guarded by a lock (writes are batched, reads are short)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode is durable against a process crash (SIGKILL); only a power
            # loss can lose the last transactions, see sqlite.org/pragma.html#pragma_synchronous.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open reading store {self.path}: {exc}") from exc

    def write(self, readings: Sequence[StoredReading]) -> None:
        if not readings:
            return
        rows = []
        for r in readings:
            num, txt, kind = _encode(r.value)
            rows.append((r.device_id, r.metric, _to_us(r.time), num, txt, kind, r.unit))
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(_INSERT, rows)
                self._db.executemany(_UPSERT_LATEST, rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"cannot write {len(rows)} readings: {exc}") from exc

    def latest(self, device_id: str) -> list[LatestValue]:
        with self._lock:
            rows = self._db.execute(
                "SELECT metric, num, txt, kind, unit, ts FROM latest WHERE device_id = ? "
                "ORDER BY metric",
                (device_id,),
            ).fetchall()
        return [LatestValue(m, _decode(n, t, k), u, _from_us(ts)) for m, n, t, k, u, ts in rows]

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]:
        with self._lock:
            rows = self._db.execute(
                "SELECT ts, num, txt, kind, unit FROM readings WHERE device_id = ? AND metric = ? "
                "AND ts >= ? AND ts < ? ORDER BY ts",
                (device_id, metric, _to_us(start), _to_us(end)),
            ).fetchall()
        return [
            StoredReading(device_id, _from_us(ts), metric, _decode(n, t, k), u)
            for ts, n, t, k, u in rows
        ]

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM readings").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()
