"""The durable spool: a local write-ahead queue in front of a remote reading store.

``SpooledStore.write`` commits a batch to a SQLite file (WAL, ``synchronous=FULL``) and returns;
that commit is what the pipeline waits for before it acknowledges the broker, so a crash, a
slow InfluxDB or an InfluxDB that is down for a day loses nothing. One sender thread drains the
spool oldest first, in chunks of ``batch_size`` readings, once a chunk is full or its oldest
reading has waited ``flush_interval``; a chunk leaves the spool only after the backend has
taken it. While InfluxDB is healthy the spool holds about one flush interval of readings; when
it is down the spool grows, and the sender retries with backoff and replays in order.

The backoff holds under load: it is exponential with jitter (``max_backoff`` at most), and
neither a write nor a flush wakes a sender that waits in it, so a server answering 429/5xx or
frozen sees a few requests a minute, not one per pipeline batch. The log says when the backend
starts failing and when it takes writes again, once each; every attempt is counted
(``send_errors``). A chunk that failed is sent again exactly as it was (the same rows, pinned
by sequence number, in the same order), never grown by what was written meanwhile: a request
that timed out may still have been stored, and a byte-identical resend is what a backend can
recognise as a duplicate (InfluxDB overwrites a point with the same measurement, tags and
time; VictoriaMetrics does with ``-dedup.minScrapeInterval``, see docs/production.md).

The spool is bounded (``max_readings``). When it is full, ``write`` raises ``StoreError``: the
pipeline then stops acknowledging and the broker keeps the messages (Mosquitto's
``max_queued_messages`` is raised for that), and ``on_full`` is called once so the platform can
raise an alert. A chunk the backend refuses as malformed (``StoreRejected``) moves to a
``rejected`` table with the reason instead of blocking the queue forever.

Reads go to the backend and are merged with what still waits in the spool, so a reading the
API acknowledged is visible at once; when the backend cannot be read, the spool's own rows
answer ``latest`` (staff pages keep working during an outage).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.private_files import private_file
from ingest import spool_sql as sql
from ingest.errors import StoreError, StoreRejected
from ingest.store import (
    BucketedHistory,
    HistoryBucket,
    LatestValue,
    ReadingStore,
    StoredReading,
)

__all__ = ["SpoolStats", "SpooledStore"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpoolStats:
    size: int  # readings waiting
    oldest_age_s: float  # how long the oldest has waited (0 when empty)
    capacity: int
    full: bool
    sent: int  # readings delivered to the backend since start
    rejected: int  # readings the backend refused as malformed, kept in ``rejected``
    send_errors: int  # failed send attempts since start
    last_error: str | None


class SpooledStore:
    def __init__(
        self,
        backend: ReadingStore,
        path: Path | str,
        *,
        batch_size: int = 5000,
        flush_interval: float = 1.0,
        max_readings: int = 5_000_000,
        on_full: Callable[[SpoolStats], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_backoff: float = 30.0,
        latest_ttl: float = 30.0,
    ) -> None:
        self.backend = backend
        self.path = private_file(Path(path))
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_readings = max_readings
        self.on_full = on_full
        self.clock = clock
        self.max_backoff = max_backoff
        self._db_lock = threading.Lock()
        self._cond = threading.Condition()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL, not NORMAL: once a batch is here the broker has forgotten it, so the
            # commit must survive a power cut as well as a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(sql.SCHEMA)
            self._size: int = self._db.execute("SELECT count(*) FROM spool").fetchone()[0]
            self._rejected: int = self._db.execute("SELECT count(*) FROM rejected").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open spool {self.path}: {exc}") from exc
        self._full = False
        self._sent = 0
        self._send_errors = 0
        self._last_error: str | None = None
        self._closing = False
        self.latest_ttl = latest_ttl
        self._latest_lock = threading.Lock()
        self._latest: dict[str, dict[str, LatestValue]] = {}
        self._latest_asked: dict[str, float] = {}  # device → monotonic time InfluxDB was asked
        self._drain = False
        #: monotonic-free wall time before which the sender does not try again (backoff)
        self._retry_at: float | None = None
        #: (first, last) sequence numbers of a chunk that failed: resent as it was
        self._pinned: tuple[int, int] | None = None
        self._rng = random.Random()
        # what's spooled from an earlier run is overdue: replay it at once
        self._due: float | None = time.time() if self._size else None
        self._thread = threading.Thread(target=self._run, name="spool-sender", daemon=True)
        self._thread.start()
        if self._size:
            log.info("spool %s holds %d readings from before; replaying", self.path, self._size)

    # -- the pipeline's side --------------------------------------------------------------

    def write(self, readings: Sequence[StoredReading]) -> None:
        if not readings:
            return
        now_us = sql.us(self.clock())
        rows = []
        for r in readings:
            num, txt, kind = sql.encode(r.value)
            rows.append((now_us, r.device_id, r.metric, sql.us(r.time), num, txt, kind, r.unit))
        with self._cond:
            overflow = self._size + len(rows) > self.max_readings
            became_full = overflow and not self._full
            if overflow:
                self._full = True
        if became_full:
            log.error("spool %s is full (%d readings); refusing writes", self.path, self._size)
            if self.on_full is not None:
                try:
                    self.on_full(self.stats())
                except Exception:
                    log.exception("spool-full callback failed")
        if overflow:
            raise StoreError(
                f"spool full ({self._size} of {self.max_readings} readings); "
                f"the backend has not taken readings since: {self._last_error}"
            )
        with self._db_lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    sql.INSERT,
                    rows,
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"cannot spool {len(rows)} readings: {exc}") from exc
        by_device: dict[str, list[LatestValue]] = {}
        for r in readings:
            by_device.setdefault(r.device_id, []).append(
                LatestValue(r.metric, r.value, r.unit, r.time)
            )
        for device_id, values in by_device.items():
            self._remember(values, device_id)
        with self._cond:
            self._size += len(rows)
            if self._due is None:
                self._due = time.time() + self.flush_interval
            if self._size >= self.batch_size and self._retry_at is None:
                self._cond.notify()

    # -- the sender -----------------------------------------------------------------------

    def _wait_for_work(self) -> bool:
        """Block until a chunk should go out; False when closing."""
        with self._cond:
            while not self._closing:
                now = time.time()
                if self._retry_at is not None and now < self._retry_at:
                    self._cond.wait(self._retry_at - now)  # only close() cuts a backoff short
                    continue
                if self._size and (
                    self._drain
                    or self._size >= self.batch_size
                    or self._retry_at is not None
                    or (self._due is not None and now >= self._due)
                ):
                    return True
                timeout = None if self._due is None else max(0.0, self._due - now)
                self._cond.wait(timeout if timeout is not None else 1.0)
            return False

    def _backoff(self, failures: int) -> float:
        """Exponential from 0.25 s, capped, with jitter (half to all of it) so that several
        gateways do not retry in step."""
        ceiling = min(self.max_backoff, 0.25 * 2.0 ** min(failures - 1, 30))
        return ceiling * self._rng.uniform(0.5, 1.0)

    def _run(self) -> None:
        failures = 0
        while self._wait_for_work():
            try:
                self._send_one_chunk()
            except Exception as exc:
                failures += 1
                delay = self._backoff(failures)
                expected = isinstance(exc, StoreError)
                with self._cond:
                    self._send_errors += 1
                    self._last_error = str(exc)[:500]
                    self._retry_at = time.time() + delay
                if failures == 1 and expected:
                    log.warning(
                        "spool: backend write failed (%s); retrying with backoff up to %.0f s, "
                        "quietly until it takes writes again",
                        exc,
                        self.max_backoff,
                    )
                elif not expected:
                    log.exception("spool sender failed; retrying in %.1f s", delay)
                else:
                    log.debug("spool: attempt %d failed (%s); next in %.1f s", failures, exc, delay)
                continue
            with self._cond:
                self._retry_at = None
            if failures:
                log.warning(
                    "spool: backend takes writes again after %d failed attempt(s); %d waiting",
                    failures,
                    self._size,
                )
                failures = 0

    def _send_one_chunk(self) -> None:
        with self._db_lock:
            if self._pinned is not None:
                rows = self._db.execute(sql.PINNED_CHUNK, self._pinned).fetchall()
            else:
                rows = self._db.execute(sql.OLDEST_CHUNK, (self.batch_size,)).fetchall()
        if not rows:
            self._pinned = None
            return
        first, last = rows[0][0], rows[-1][0]
        readings = [sql.reading(row[2:]) for row in rows]
        reason: str | None = None
        # Stays pinned if the write raises: the retry sends these rows and no others.
        self._pinned = (first, last)
        try:
            self.backend.write(readings)
        except StoreRejected as exc:
            reason = str(exc)[:1000]
            log.error("spool: backend refused %d readings, kept aside: %s", len(rows), reason)
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            if reason is not None:
                self._db.execute(
                    sql.REJECT,
                    (sql.us(self.clock()), reason, first, last),
                )
            self._db.execute("DELETE FROM spool WHERE seq BETWEEN ? AND ?", (first, last))
            self._db.execute("COMMIT")
            oldest = self._oldest_enqueued()
        self._pinned = None
        with self._cond:
            self._size -= len(rows)
            if reason is None:
                self._sent += len(rows)
            else:
                self._rejected += len(rows)
            if oldest is None:
                self._due = None
            else:
                self._due = oldest / 1e6 + self.flush_interval
            if self._full and self._size < self.max_readings * 0.9:
                self._full = False
                log.warning("spool %s has room again (%d readings)", self.path, self._size)
            self._cond.notify_all()

    # -- reads ----------------------------------------------------------------------------

    def _spooled(self, device_id: str, metric: str | None = None) -> list[StoredReading]:
        with self._db_lock:
            if metric is None:
                rows = self._db.execute(
                    sql.BY_DEVICE,
                    (device_id,),
                ).fetchall()
            else:
                rows = self._db.execute(
                    sql.BY_METRIC,
                    (device_id, metric),
                ).fetchall()
        return [sql.reading(r) for r in rows]

    def latest(self, device_id: str) -> list[LatestValue]:
        """Newest value per metric: what this process wrote, merged with InfluxDB's answer
        (asked at most once per ``latest_ttl`` per device: a staff page lists every device,
        and one Flux query per device per page load would not scale). Another process that
        writes the same bucket (scale-out) shows up within ``latest_ttl``."""
        now = time.monotonic()
        with self._latest_lock:
            asked = self._latest_asked.get(device_id)
        if asked is None or now - asked >= self.latest_ttl:
            try:
                self._remember(self.backend.latest(device_id), device_id)
                if asked is None:  # after a restart the spool may hold newer ones
                    self._remember(
                        [
                            LatestValue(r.metric, r.value, r.unit, r.time)
                            for r in self._spooled(device_id)
                        ],
                        device_id,
                    )
                with self._latest_lock:
                    self._latest_asked[device_id] = now
            except StoreError as exc:
                log.warning("latest values of %s without InfluxDB: %s", device_id, exc)
                self._remember(
                    [
                        LatestValue(r.metric, r.value, r.unit, r.time)
                        for r in self._spooled(device_id)
                    ],
                    device_id,
                )
        with self._latest_lock:
            newest = dict(self._latest.get(device_id, {}))
        return [newest[m] for m in sorted(newest)]

    def _remember(self, values: Sequence[LatestValue], device_id: str) -> None:
        with self._latest_lock:
            known = self._latest.setdefault(device_id, {})
            for v in values:
                old = known.get(v.metric)
                if old is None or v.time >= old.time:
                    known[v.metric] = v

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]:
        by_time = {r.time: r for r in self.backend.history(device_id, metric, start, end)}
        for r in self._spooled(device_id, metric):
            if start <= r.time < end:
                by_time.setdefault(r.time, r)
        return [by_time[t] for t in sorted(by_time)]

    def history_buckets(
        self,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        bucket_s: float,
        split_gap_s: float | None = None,
    ) -> Sequence[HistoryBucket] | None:
        """``BucketedHistory`` from the backend when it has it and nothing of this metric in
        [start, end) still waits here; else ``None``, and the caller reads ``history``, which
        merges the waiting readings in."""
        if not isinstance(self.backend, BucketedHistory):
            return None
        if any(start <= r.time < end for r in self._spooled(device_id, metric)):
            return None
        return self.backend.history_buckets(
            device_id, metric, start, end, bucket_s, split_gap_s=split_gap_s
        )

    def count(self) -> int:
        """Readings in the backend plus those still waiting (an upper bound while a chunk is
        in flight: it is counted in both for that moment)."""
        return self.backend.count() + self._size

    def rejected_readings(self, limit: int = 100) -> list[tuple[str, StoredReading]]:
        with self._db_lock:
            rows = self._db.execute(
                sql.REJECTED,
                (limit,),
            ).fetchall()
        return [(row[0], sql.reading(row[1:])) for row in rows]

    def _oldest_enqueued(self) -> int | None:
        """Enqueue time of the oldest row, by primary key (min() over a column without an
        index would scan millions of rows during an outage, every second)."""
        row = self._db.execute(sql.OLDEST).fetchone()
        return None if row is None else int(row[0])

    # -- health ---------------------------------------------------------------------------

    def stats(self) -> SpoolStats:
        with self._db_lock:
            oldest = self._oldest_enqueued()
        age = 0.0 if oldest is None else max(0.0, sql.us(self.clock()) / 1e6 - oldest / 1e6)
        with self._cond:
            return SpoolStats(
                size=self._size,
                oldest_age_s=age,
                capacity=self.max_readings,
                full=self._full,
                sent=self._sent,
                rejected=self._rejected,
                send_errors=self._send_errors,
                last_error=self._last_error,
            )

    def flush(self, timeout: float) -> bool:
        """Send everything now (ignoring the flush interval); True when the spool is empty."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._drain = True
            self._cond.notify_all()
            while self._size and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.1))
            self._drain = False
            return self._size == 0

    def close(self, drain_timeout: float = 5.0) -> None:
        """Try to hand what waits to the backend, then stop; whatever is left stays on disk
        and is replayed at the next start."""
        if drain_timeout > 0:
            self.flush(drain_timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout=30)
        with self._db_lock:
            self._db.close()
        self.backend.close()
