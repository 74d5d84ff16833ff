"""The durable spool's own behaviour, against a double of our ReadingStore seam.

The double stands for InfluxDB (the real write path is tested against VictoriaMetrics in
test_influx_write_vm.py): it can be down, refuse a chunk as malformed, and records every chunk
in the order it was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.errors import StoreError, StoreRejected
from ingest.spool import SpooledStore, SpoolStats
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import LatestValue, StoredReading
from tests.support.net import wait_for

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class Backend:
    def __init__(self) -> None:
        self.chunks: list[list[StoredReading]] = []
        #: every chunk offered, taken or not
        self.attempts: list[list[StoredReading]] = []
        self.down = False
        self.refuse_device: str | None = None
        self.closed = False
        self.latest_calls = 0
        self._lock = threading.Lock()

    def write(self, readings: Sequence[StoredReading]) -> None:
        with self._lock:
            self.attempts.append(list(readings))
        if self.down:
            raise StoreError("InfluxDB at http://influx:8086 unreachable: connection refused")
        if self.refuse_device and any(r.device_id == self.refuse_device for r in readings):
            raise StoreRejected("InfluxDB refused 3 points: HTTP 400: field type conflict")
        with self._lock:
            self.chunks.append(list(readings))

    @property
    def received(self) -> list[StoredReading]:
        with self._lock:
            return [r for chunk in self.chunks for r in chunk]

    def latest(self, device_id: str) -> list[LatestValue]:
        self.latest_calls += 1
        if self.down:
            raise StoreError("unreachable")
        newest: dict[str, LatestValue] = {}
        for r in self.received:
            if r.device_id == device_id:
                newest[r.metric] = LatestValue(r.metric, r.value, r.unit, r.time)
        return list(newest.values())

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]:
        return [
            r
            for r in self.received
            if r.device_id == device_id and r.metric == metric and start <= r.time < end
        ]

    def count(self) -> int:
        return len(self.received)

    def close(self) -> None:
        self.closed = True


def readings(first: int, last: int, device: str = "shed-1") -> list[StoredReading]:
    return [
        StoredReading(device, T0 + timedelta(seconds=i), "temperature", 20.0 + i, "Cel")
        for i in range(first, last)
    ]


def spool(tmp_path: Path, backend: Backend, **kwargs: object) -> SpooledStore:
    options: dict[str, object] = {"batch_size": 50, "flush_interval": 0.02, "max_backoff": 0.05}
    options.update(kwargs)
    return SpooledStore(backend, tmp_path / "spool.db", **options)  # type: ignore[arg-type]


def test_chunks_leave_in_order_and_only_after_the_backend_took_them(tmp_path: Path) -> None:
    backend = Backend()
    backend.down = True
    s = spool(tmp_path, backend)
    for first in range(0, 120, 10):
        s.write(readings(first, first + 10))
    wait_for(lambda: s.stats().send_errors >= 2, what="retries while down")
    assert backend.received == []
    assert s.stats().size == 120
    backend.down = False
    assert s.flush(10)
    assert [r.time for r in backend.received] == [r.time for r in readings(0, 120)]
    assert max(len(c) for c in backend.chunks) <= 50
    stats = s.stats()
    assert (stats.size, stats.sent, stats.oldest_age_s) == (0, 120, 0.0)
    s.close()
    assert backend.closed


def test_flush_interval_batches_small_writes(tmp_path: Path) -> None:
    backend = Backend()
    s = spool(tmp_path, backend, batch_size=1000, flush_interval=0.3)
    for i in range(20):
        s.write(readings(i, i + 1))
    wait_for(lambda: backend.received, what="a flush after the interval")
    # twenty one-reading writes within the interval went out as one chunk, not twenty
    assert len(backend.chunks) == 1
    assert len(backend.chunks[0]) == 20
    s.close()


def test_what_was_spooled_survives_a_restart_and_is_replayed(tmp_path: Path) -> None:
    backend = Backend()
    backend.down = True
    s = spool(tmp_path, backend)
    s.write(readings(0, 30))
    s.close(drain_timeout=0)  # as if the process stopped while InfluxDB was down
    later = Backend()
    s2 = spool(tmp_path, later)
    wait_for(lambda: len(later.received) == 30, what="replay after restart")
    assert [r.value for r in later.received] == [r.value for r in readings(0, 30)]
    s2.close()


def test_full_spool_refuses_writes_and_raises_the_alarm_once(tmp_path: Path) -> None:
    backend = Backend()
    backend.down = True
    alarms: list[SpoolStats] = []
    s = spool(tmp_path, backend, max_readings=100, on_full=alarms.append)
    s.write(readings(0, 90))
    with pytest.raises(StoreError, match="spool full"):
        s.write(readings(90, 120))  # refused whole: the pipeline does not ack, the broker keeps it
    with pytest.raises(StoreError, match="spool full"):
        s.write(readings(90, 120))
    assert len(alarms) == 1
    assert alarms[0].full
    assert alarms[0].size == 90
    assert s.stats().full
    backend.down = False
    assert s.flush(10)
    assert not s.stats().full
    s.write(readings(90, 120))  # room again
    assert s.flush(10)
    assert len(backend.received) == 120
    s.close()


def test_a_chunk_the_backend_refuses_is_kept_aside_and_the_queue_moves_on(tmp_path: Path) -> None:
    backend = Backend()
    backend.refuse_device = "bad-1"
    s = spool(tmp_path, backend, batch_size=10)
    s.write(readings(0, 10))
    assert s.flush(10)
    s.write(readings(10, 13, device="bad-1"))
    assert s.flush(10)
    s.write(readings(20, 30))
    assert s.flush(10)
    assert [r.device_id for r in backend.received] == ["shed-1"] * 20
    stats = s.stats()
    assert (stats.size, stats.sent, stats.rejected) == (0, 20, 3)
    kept = s.rejected_readings()
    assert [r.device_id for _reason, r in kept] == ["bad-1"] * 3
    assert "field type conflict" in kept[0][0]
    s.close()


def test_reads_merge_the_spool_and_survive_an_outage(tmp_path: Path) -> None:
    backend = Backend()
    s = spool(tmp_path, backend, flush_interval=3600, batch_size=1000)
    backend.chunks.append(readings(0, 5))  # already in "InfluxDB"
    s.write(readings(5, 8))  # still waiting in the spool
    assert [v.value for v in s.latest("shed-1")] == [27.0]
    got = s.history("shed-1", "temperature", T0, T0 + timedelta(seconds=7))
    assert [r.value for r in got] == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0]
    assert s.count() == 8
    backend.down = True
    assert [v.value for v in s.latest("shed-1")] == [27.0]  # from the spool alone
    s.close(drain_timeout=0)


def test_age_of_the_oldest_waiting_reading(tmp_path: Path) -> None:
    now = [T0]
    backend = Backend()
    backend.down = True
    s = spool(tmp_path, backend, clock=lambda: now[0])
    s.write(readings(0, 3))
    now[0] = T0 + timedelta(seconds=42)
    s.write(readings(3, 4))
    assert s.stats().oldest_age_s == pytest.approx(42.0)
    s.close(drain_timeout=0)


def test_latest_asks_the_backend_once_per_ttl_and_keeps_what_it_wrote(tmp_path: Path) -> None:
    backend = Backend()
    backend.chunks.append(readings(0, 5))  # written by another process before we started
    s = spool(tmp_path, backend, latest_ttl=3600)
    assert [v.value for v in s.latest("shed-1")] == [24.0]
    s.write(readings(5, 7))
    for _ in range(10):  # a staff page refreshing
        assert [v.value for v in s.latest("shed-1")] == [26.0]
    assert backend.latest_calls == 1
    s.write(readings(3, 4))  # an older reading redelivered: latest stays the newest
    assert [v.value for v in s.latest("shed-1")] == [26.0]
    s.close(drain_timeout=0)
    # a zero TTL asks every time: another gateway's newer reading shows up
    s2 = spool(tmp_path, backend, latest_ttl=0)
    backend.chunks.append(readings(9, 10))
    assert [v.value for v in s2.latest("shed-1")] == [29.0]
    s2.close(drain_timeout=0)


def test_buckets_come_from_the_backend_only_when_nothing_of_the_range_waits(
    tmp_path: Path,
) -> None:
    backend = SqliteReadingStore(tmp_path / "readings.db")
    s = SpooledStore(backend, tmp_path / "spool.db", batch_size=50, flush_interval=60)
    end = T0 + timedelta(minutes=5)
    s.write(readings(0, 120))
    # waiting here, not yet in the backend: the caller must read history, which merges them
    assert s.history_buckets("shed-1", "temperature", T0, end, 60.0) is None
    assert s.flush(10)
    got = s.history_buckets("shed-1", "temperature", T0, end, 60.0)
    assert got == backend.history_buckets("shed-1", "temperature", T0, end, 60.0)
    assert [b.count for b in got or []] == [60, 60]
    # a store without buckets behind the spool: none from the spool either
    plain = SpooledStore(Backend(), tmp_path / "plain.db", flush_interval=60)  # type: ignore[arg-type]
    assert plain.history_buckets("shed-1", "temperature", T0, end, 60.0) is None
    plain.close()


def test_a_failed_chunk_is_resent_exactly_as_it_was(tmp_path: Path) -> None:
    """A request that timed out may have been stored: the resend must be the same points (a
    backend overwrites identical ones), never that chunk grown by what arrived meanwhile."""
    backend = Backend()
    backend.down = True
    s = spool(tmp_path, backend, batch_size=50, max_backoff=0.1)
    s.write(readings(0, 20))
    wait_for(lambda: s.stats().send_errors >= 1, what="a first failed attempt")
    s.write(readings(20, 80))
    wait_for(lambda: s.stats().send_errors >= 3, what="retries")
    backend.down = False
    assert s.flush(10)
    first = [r.time for r in readings(0, 20)]
    with backend._lock:
        offered = [[r.time for r in chunk] for chunk in backend.attempts]
    failed = offered[: s.stats().send_errors + 1]  # every retry and the one that went through
    assert all(chunk == first for chunk in failed), [len(c) for c in offered]
    assert [r.time for r in backend.received] == [r.time for r in readings(0, 80)]
    s.close()


def test_writes_do_not_wake_a_sender_in_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Under load, a failing backend sees a few attempts (the backoff), one warning each way."""
    backend = Backend()
    backend.down = True
    s = spool(tmp_path, backend, batch_size=10, max_backoff=1.0)
    caplog.set_level("WARNING", logger="ingest.spool")
    stop = threading.Event()

    def pipeline() -> None:
        i = 0
        while not stop.wait(0.005):  # ~200 writes a second, each a full chunk
            s.write(readings(i, i + 10))
            i += 10

    writer = threading.Thread(target=pipeline)
    writer.start()
    try:
        stop.wait(2.5)
    finally:
        stop.set()
        writer.join()
    attempts = s.stats().send_errors
    # 0.25 + 0.5 + 1 + 1 ... s, jittered to half: at most ~8 in 2.5 s; waking on every
    # write would make it hundreds
    assert 2 <= attempts <= 9, attempts
    warnings = [r for r in caplog.records if r.name == "ingest.spool"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    backend.down = False
    assert s.flush(10)
    warnings = [r.getMessage() for r in caplog.records if r.name == "ingest.spool"]
    assert len(warnings) == 2
    assert "takes writes again" in warnings[1]
    s.close()
