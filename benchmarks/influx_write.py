"""Write-path rate into a local server speaking /api/v2/write (Debian's VictoriaMetrics).

Three figures in one run, against the same server:

- baseline: pre-formatted line protocol, gzip-compressed, POSTed in 5,000-line batches with
  a bare HTTP client: what the server and the loopback can take;
- ``InfluxReadingStore.write``: our line formatting + influxdb-client's synchronous gzip write,
  5,000 readings per call;
- the spool end to end: ``SpooledStore.write`` in pipeline-sized batches (1,000 readings, one
  SQLite commit with ``synchronous=FULL`` each: what the broker acknowledgement waits for)
  until the sender has delivered everything; plus the median commit time of one batch.

Every figure counts readings (one field value each); the server is checked to hold them all.
"""

from __future__ import annotations

import gzip
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks._support import free_port, load, machine
from ingest.influx_store import InfluxReadingStore
from ingest.line_protocol import SeriesTags, to_lines
from ingest.spool import SpooledStore
from ingest.store import StoredReading

__all__ = ["InfluxWriteResult", "main", "run"]

DEVICES = 1000
BATCH = 5000


@dataclass(frozen=True, slots=True)
class InfluxWriteResult:
    readings: int
    baseline_rate: float
    store_rate: float
    spool_rate: float
    spool_commit_ms: float
    stored: int
    load_before: str
    load_after: str


def _tags(device_id: str) -> SeriesTags:
    return SeriesTags("room_climate", device_id, "room_climate", f"site-{device_id[-2:]}", "Rum")


def _readings(n: int, offset: int) -> list[StoredReading]:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    return [
        StoredReading(
            f"dev-{i % DEVICES:04d}",
            base + timedelta(milliseconds=offset + i),
            "temperature",
            20.0 + (i % 50) / 10,
            "Cel",
        )
        for i in range(n)
    ]


class _Server:
    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={workdir}",
                "-retentionPeriod=100y",
                "-loggerLevel=ERROR",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError("victoria-metrics did not start")

    def rows_inserted(self) -> int:
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith('vm_rows_inserted_total{type="influx"}'):
                return int(float(line.split()[-1]))
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def run(readings: int = 300_000) -> InfluxWriteResult:
    before = load()
    with tempfile.TemporaryDirectory(prefix="kv-bench-influx-") as tmp:
        server = _Server(Path(tmp) / "vm")
        try:
            # baseline: bare HTTP, lines formatted beforehand (not timed), gzip per request
            lines = to_lines(_readings(readings, 0), _tags)
            bodies = [
                gzip.compress("\n".join(lines[i : i + BATCH]).encode())
                for i in range(0, len(lines), BATCH)
            ]
            url = f"{server.url}/api/v2/write?org=kv&bucket=kv&precision=ms"
            headers = {"Content-Encoding": "gzip", "Authorization": "Token bench"}
            with httpx.Client(timeout=30) as client:
                started = time.perf_counter()
                for body in bodies:
                    client.post(url, content=body, headers=headers).raise_for_status()
                baseline = readings / (time.perf_counter() - started)

            store = InfluxReadingStore(server.url, "bench", "kv", "kv", tags_for=_tags)
            data = _readings(readings, readings)
            started = time.perf_counter()
            for i in range(0, readings, BATCH):
                store.write(data[i : i + BATCH])
            store_rate = readings / (time.perf_counter() - started)

            spool = SpooledStore(
                InfluxReadingStore(server.url, "bench", "kv", "kv", tags_for=_tags),
                Path(tmp) / "spool.db",
                batch_size=BATCH,
                flush_interval=0.2,
            )
            data = _readings(readings, 2 * readings)
            commits = []
            started = time.perf_counter()
            for i in range(0, readings, 1000):
                t = time.perf_counter()
                spool.write(data[i : i + 1000])
                commits.append(time.perf_counter() - t)
            if not spool.flush(120):
                raise RuntimeError("the spool did not drain")
            spool_rate = readings / (time.perf_counter() - started)
            spool.close()
            store.close()
            stored = server.rows_inserted()
        finally:
            server.stop()
    return InfluxWriteResult(
        readings=readings,
        baseline_rate=baseline,
        store_rate=store_rate,
        spool_rate=spool_rate,
        spool_commit_ms=statistics.median(commits) * 1000,
        stored=stored,
        load_before=before,
        load_after=load(),
    )


def main(quick: bool = False) -> InfluxWriteResult:
    r = run(100_000 if quick else 300_000)
    print(f"InfluxDB write path into local VictoriaMetrics (/api/v2/write, gzip), {machine()}")
    print(f"  {r.readings:,} readings per variant, {DEVICES:,} devices, {BATCH:,} per request")
    print(f"  baseline raw line-protocol POST : {r.baseline_rate:>10,.0f} readings/s")
    print(
        f"  InfluxReadingStore.write        : {r.store_rate:>10,.0f} readings/s "
        f"({r.store_rate / r.baseline_rate:.0%} of baseline)"
    )
    print(
        f"  spool → InfluxDB, end to end    : {r.spool_rate:>10,.0f} readings/s "
        f"({r.spool_rate / r.baseline_rate:.0%}); spool commit of 1,000 readings: "
        f"median {r.spool_commit_ms:.1f} ms"
    )
    print(
        f"  server took {r.stored:,} of {3 * r.readings:,} rows;  {r.load_before} → {r.load_after}"
    )
    return r


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
