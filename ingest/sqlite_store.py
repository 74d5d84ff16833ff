"""The embedded reading store: SQLite in WAL mode, one transaction per batch.

Readings are keyed by (device, metric, time), so a message the broker delivers again after a
crash is stored once. Times are integer microseconds since the epoch, UTC.

The ``latest`` table keeps per device and metric the value received last: ordered by the
receive time (``received``), then the device's own time, never by the device's time alone (a
device's clock can be wrong or forged). The schema's version is SQLite's ``user_version``;
``_MIGRATIONS`` bring an older file up to date when the store opens it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from core.private_files import private_file
from devices.reading import Value
from ingest.errors import StoreError
from ingest.store import HistoryBucket, LatestValue, StoredReading

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
    received INTEGER,
    PRIMARY KEY (device_id, metric)
) WITHOUT ROWID;
"""

#: user_version of a file made by _SCHEMA; each entry of _MIGRATIONS takes a file one further
_VERSION = 1
_MIGRATIONS = {
    # 0 -> 1: the receive time of each latest value (NULL for values stored before it)
    0: ("ALTER TABLE latest ADD COLUMN received INTEGER",),
}

_INSERT = "INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?, ?, ?, ?)"
# A value without a receive time ranks by its own time (what the device says).
_UPSERT_LATEST = """
INSERT INTO latest (device_id, metric, ts, num, txt, kind, unit, received)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (device_id, metric) DO UPDATE SET
    ts = excluded.ts, num = excluded.num, txt = excluded.txt, kind = excluded.kind,
    unit = excluded.unit, received = excluded.received
WHERE coalesce(excluded.received, excluded.ts) > coalesce(latest.received, latest.ts)
    OR (coalesce(excluded.received, excluded.ts) = coalesce(latest.received, latest.ts)
        AND excluded.ts >= latest.ts)
"""


#: an upper bound past any reading's time (µs), for open-ended ranges
_FOREVER = 2**62


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

    def __init__(self, path: Path | str, *, secure_delete: bool = False) -> None:
        """``secure_delete``: erased rows are overwritten with zeros, not left in free pages
        (the care store: what retention or an erasure removed must be gone from the file)."""
        self.path = private_file(Path(path))
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode is durable against a process crash (SIGKILL); only a power
            # loss can lose the last transactions, see sqlite.org/pragma.html#pragma_synchronous.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            if secure_delete:
                self._db.execute("PRAGMA secure_delete=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open reading store {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        fresh = (
            self._db.execute(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('readings', 'latest')"
            ).fetchone()[0]
            == 0
        )
        if fresh:
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {_VERSION}")
            return
        self._db.executescript(_SCHEMA)  # a table a partial old file lacks
        while version < _VERSION:
            self._db.execute("BEGIN IMMEDIATE")
            for statement in _MIGRATIONS[version]:
                self._db.execute(statement)
            version += 1
            self._db.execute(f"PRAGMA user_version = {version}")
            self._db.execute("COMMIT")

    def write(self, readings: Sequence[StoredReading], *, latest_only: bool = False) -> None:
        """Store readings (history and latest value). ``latest_only``: only the latest value
        per device and metric, no history row (the care store's "still reporting" marks)."""
        if not readings:
            return
        rows = []
        for r in readings:
            num, txt, kind = _encode(r.value)
            received = None if r.received_at is None else _to_us(r.received_at)
            rows.append((r.device_id, r.metric, _to_us(r.time), num, txt, kind, r.unit, received))
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                if not latest_only:
                    self._db.executemany(_INSERT, [row[:7] for row in rows])
                self._db.executemany(_UPSERT_LATEST, rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"cannot write {len(rows)} readings: {exc}") from exc

    def _rollback(self) -> None:
        """Undo a failed write; on a closed or broken connection there is nothing to undo, and
        the caller's StoreError (not sqlite's own error from here) is what must surface."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def latest(self, device_id: str) -> list[LatestValue]:
        with self._lock:
            rows = self._db.execute(
                "SELECT metric, num, txt, kind, unit, ts, received FROM latest "
                "WHERE device_id = ? ORDER BY metric",
                (device_id,),
            ).fetchall()
        return [
            LatestValue(m, _decode(n, t, k), u, _from_us(ts), None if rx is None else _from_us(rx))
            for m, n, t, k, u, ts, rx in rows
        ]

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

    def history_buckets(
        self,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        bucket_s: float,
        split_gap_s: float | None = None,
    ) -> list[HistoryBucket]:
        """``BucketedHistory``: one ``GROUP BY`` over the primary key range, not a Python object
        per reading. The grid is ``start.timestamp() + i * bucket_s`` in float seconds, computed
        as ``dashboards.downsample`` does, so the buckets equal those of ``history``'s readings.

        With ``split_gap_s``, each bucket also counts the distinct cells (a little under half
        the gap wide) its readings fall in: a silence longer than the gap leaves a whole cell
        empty, so a bucket whose cells from its first to its last reading are all filled has
        no silence inside. Only the others (a device that was silent there) are read row by
        row and split at the silence.
        """
        if bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        step = float(bucket_s)
        origin = start.timestamp()
        lo = _to_us(start)
        cell = 0 if split_gap_s is None else max(1, int(split_gap_s * 1_000_000) // 2 - 2)
        params = {
            "device": device_id,
            "metric": metric,
            "start": lo,
            "end": _to_us(end),
            "origin": origin,
            "step": step,
            "cell": cell,
        }
        out: list[HistoryBucket] = []
        with self._lock:
            rows = self._db.execute(_BUCKETS_CELLS if cell else _BUCKETS, params).fetchall()
            for b, n, mn, mn_ts, mx, mx_ts, total, t0, t1, cells, unit in rows:
                bucket_start = origin + b * step
                if cell and cells < (t1 - lo) // cell - (t0 - lo) // cell + 1:
                    inside = self._db.execute(_BUCKET_ROWS, (device_id, metric, t0, t1)).fetchall()
                    out += _split_at_silences(inside, bucket_start, split_gap_s or 0.0)
                    continue
                out.append(
                    HistoryBucket(
                        bucket_start,
                        n,
                        mn,
                        mn_ts / 1_000_000,
                        mx,
                        mx_ts / 1_000_000,
                        total / n,
                        t0 / 1_000_000,
                        t1 / 1_000_000,
                        unit,
                    )
                )
        return out

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM readings").fetchone()
        return int(n)

    # -- beyond the protocol: what the care store needs (retention, erasure, export) --------

    def readings_of(
        self, device_id: str, start: datetime, end: datetime | None = None
    ) -> list[StoredReading]:
        """Every reading of one device in [start, end), all metrics, oldest first."""
        upper = _to_us(end) if end is not None else _FOREVER
        with self._lock:
            rows = self._db.execute(
                "SELECT metric, ts, num, txt, kind, unit FROM readings WHERE device_id = ? "
                "AND ts >= ? AND ts < ? ORDER BY ts, metric",
                (device_id, _to_us(start), upper),
            ).fetchall()
        return [
            StoredReading(device_id, _from_us(ts), m, _decode(n, t, k), u)
            for m, ts, n, t, k, u in rows
        ]

    def erase(self, device_id: str, start: datetime, end: datetime | None = None) -> int:
        """Delete one device's readings in [start, end) (open-ended without ``end``); its
        latest values are rebuilt from what is left. Returns how many readings went."""
        upper = _to_us(end) if end is not None else _FOREVER
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                gone = self._db.execute(
                    "DELETE FROM readings WHERE device_id = ? AND ts >= ? AND ts < ?",
                    (device_id, _to_us(start), upper),
                ).rowcount
                self._db.execute("DELETE FROM latest WHERE device_id = ?", (device_id,))
                # SQLite: the bare columns of a max() aggregate come from the row with the max
                # (the history keeps no receive time: the rebuilt values rank by their own)
                self._db.execute(
                    "INSERT INTO latest SELECT device_id, metric, max(ts), num, txt, kind, unit, "
                    "NULL FROM readings WHERE device_id = ? GROUP BY metric",
                    (device_id,),
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"cannot erase readings of {device_id}: {exc}") from exc
        return int(gone)

    def prune(self, before: datetime) -> int:
        """The retention job: readings (and latest values) older than ``before`` go."""
        cutoff = _to_us(before)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                gone = self._db.execute("DELETE FROM readings WHERE ts < ?", (cutoff,)).rowcount
                self._db.execute("DELETE FROM latest WHERE ts < ?", (cutoff,))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"cannot prune readings before {before}: {exc}") from exc
        return int(gone)

    def device_ids(self) -> set[str]:
        """Devices with at least one stored value (from the small ``latest`` table)."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT device_id FROM latest").fetchall()
        return {r[0] for r in rows}

    def last_seen(self) -> dict[str, datetime]:
        """Per device, when it was last heard from (its last receive time; the device's own
        time for values stored without one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT device_id, max(coalesce(received, ts)) FROM latest GROUP BY device_id"
            ).fetchall()
        return {device_id: _from_us(ts) for device_id, ts in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- min/max per time bucket in SQL (``history_buckets``) -----------------------------------

# The bucket index is floor((ts / 1e6 - origin) / step) in IEEE doubles, as in Python; the
# times of the minimum and the maximum are those of their first reading (a PK range lookup
# within the bucket). Finite numbers only: BETWEEN the largest doubles excludes ±inf and NULL.
_BUCKETS_SQL = """
SELECT g.b, g.n,
    g.mn, (SELECT min(ts) FROM readings WHERE device_id = :device AND metric = :metric
        AND ts BETWEEN g.t0 AND g.t1 AND kind = 'n' AND num = g.mn),
    g.mx, (SELECT min(ts) FROM readings WHERE device_id = :device AND metric = :metric
        AND ts BETWEEN g.t0 AND g.t1 AND kind = 'n' AND num = g.mx),
    g.total, g.t0, g.t1, g.cells,
    (SELECT unit FROM readings WHERE device_id = :device AND metric = :metric AND ts = g.t0)
FROM (
    SELECT b, count(*) AS n, min(num) AS mn, max(num) AS mx, sum(num) AS total,
        min(ts) AS t0, max(ts) AS t1, CELLS AS cells
    FROM (
        SELECT ts, num, CAST(x AS INTEGER) - (x < CAST(x AS INTEGER)) AS b
        FROM (
            SELECT ts, num, (ts / 1000000.0 - :origin) / :step AS x FROM readings
            WHERE device_id = :device AND metric = :metric AND ts >= :start AND ts < :end
                AND kind = 'n' AND num BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308
        )
    )
    GROUP BY b
) AS g
ORDER BY g.b
"""
_BUCKETS = _BUCKETS_SQL.replace("CELLS", "1")
# integer division: the cell of a reading, (ts - start) // cell
_BUCKETS_CELLS = _BUCKETS_SQL.replace("CELLS", "count(DISTINCT (ts - :start) / :cell)")
_BUCKET_ROWS = """
SELECT ts, num, unit FROM readings
WHERE device_id = ? AND metric = ? AND ts >= ? AND ts <= ?
    AND kind = 'n' AND num BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308
ORDER BY ts
"""


def _split_at_silences(
    rows: Sequence[tuple[int, float, str | None]], start: float, gap_s: float
) -> list[HistoryBucket]:
    """The readings of one bucket as one entry per stretch without a silence longer than
    ``gap_s`` (times compared in float seconds, as ``split_at_gaps`` does)."""
    out: list[HistoryBucket] = []
    piece: list[tuple[float, float, str | None]] = []
    for ts, num, unit in rows:
        t = ts / 1_000_000
        if piece and t - piece[-1][0] > gap_s:
            out.append(_aggregate(piece, start))
            piece = []
        piece.append((t, num, unit))
    if piece:
        out.append(_aggregate(piece, start))
    return out


def _aggregate(piece: Sequence[tuple[float, float, str | None]], start: float) -> HistoryBucket:
    low = min(piece, key=lambda r: r[1])  # the first of equal minima, as in SQL
    high = max(piece, key=lambda r: r[1])
    return HistoryBucket(
        start,
        len(piece),
        low[1],
        low[0],
        high[1],
        high[0],
        sum(r[1] for r in piece) / len(piece),
        piece[0][0],
        piece[-1][0],
        piece[0][2],
    )
