"""The spool against a frozen server (VictoriaMetrics under SIGSTOP): the backoff holds while
the pipeline keeps writing, and what was sent during the freeze is stored once after it.

A frozen server is the hard case: the kernel accepts the connection and the request, the
client times out, and after SIGCONT the server stores the request it was sent anyway, so the
spool's resend is a second copy. The resend is the same points (pinned chunk, exact
millisecond timestamps, the same series), so a backend that deduplicates identical points
keeps one: InfluxDB always, VictoriaMetrics with ``-dedup.minScrapeInterval``.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.influx_store import InfluxReadingStore
from ingest.line_protocol import SeriesTags
from ingest.spool import SpooledStore
from ingest.store import StoredReading
from tests.support.net import wait_for
from tests.support.victoriametrics import VictoriaMetrics, victoria_metrics_binary
from tests.test_influx_write_vm import _RecordingProxy

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
TAGS = SeriesTags("freezer", "frys-1", "freezer", "kok-1", "Kök")


def readings(first: int, last: int) -> list[StoredReading]:
    return [
        StoredReading("frys-1", T0 + timedelta(seconds=i), "temperature", -18.0 - i / 1000, "Cel")
        for i in range(first, last)
    ]


def test_frozen_server_backoff_holds_and_nothing_is_stored_twice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if victoria_metrics_binary() is None:
        pytest.fail("victoria-metrics is not installed; `make test` installs it")
    vm = VictoriaMetrics(tmp_path / "vm", extra_args=("-dedup.minScrapeInterval=1ms",)).start()
    proxy = _RecordingProxy(vm.url)  # records every request the spool makes
    backend = InfluxReadingStore(
        proxy.url, "token", "kommunvakt", "kommunvakt", tags_for=lambda _d: TAGS, timeout_ms=300
    )
    spool = SpooledStore(
        backend, tmp_path / "spool.db", batch_size=200, flush_interval=0.05, max_backoff=2.0
    )
    caplog.set_level("WARNING", logger="ingest.spool")
    try:
        spool.write(readings(0, 200))
        assert spool.flush(10)
        vm.freeze()
        stop = threading.Event()
        written = [200]

        def pipeline() -> None:  # a pipeline batch of 20 readings every 10 ms
            while not stop.wait(0.01):
                spool.write(readings(written[0], written[0] + 20))
                written[0] += 20

        writer = threading.Thread(target=pipeline)
        writer.start()
        stop.wait(6.0)
        stop.set()
        writer.join()
        frozen_attempts = spool.stats().send_errors
        frozen_warnings = [r.getMessage() for r in caplog.records if r.name == "ingest.spool"]
        vm.thaw()
        assert spool.flush(30)
        total = written[0]

        def all_there() -> list[int] | None:
            stamps = [ts for _n, _l, ts, _v in vm.samples()]
            return stamps if len(set(stamps)) >= total else None

        stamps = wait_for(all_there, 30, interval=0.3, what=f"{total} readings in VM")
        assert isinstance(stamps, list)
    finally:
        spool.close(drain_timeout=0)
        vm.stop()
        proxy.close()
    # 6 s frozen at 0.3 s per timed-out request: every write waking the sender made ~20 tries
    # (and one warning each); the backoff (0.25, 0.5, 1, 2, 2 s, jittered) allows ~8
    assert 2 <= frozen_attempts <= 9, frozen_attempts
    assert len(frozen_warnings) == 1, frozen_warnings
    # every attempt during the freeze, and the one that went through after it, sent the same
    # line protocol (the gzip wrapper differs only in its timestamp field)
    bodies = [gzip.decompress(b) for path, _h, b in proxy.requests if "/write" in path]
    resent = bodies[1 : frozen_attempts + 2]
    assert len(resent) == frozen_attempts + 1
    assert len(set(resent)) == 1  # not grown by the writes meanwhile
    # every reading exactly once, though some chunks reached the server twice
    duplicates = {ts: n for ts, n in Counter(stamps).items() if n > 1}
    assert duplicates == {}
    assert len(stamps) == total
