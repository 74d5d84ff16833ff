"""Memory: the gateway's RSS with 10,000 registered devices under load, and its growth over a
soak (10 minutes in the full run).

The gateway runs as ``kommunvakt run`` against Mosquitto; a fleet of 10,000 simulated devices
(native payloads, the catalogue's building types, availability announced first) publishes at
a steady rate from this process. RSS is sampled from /proc every few seconds. Growth compares
the mean of the last fifth of the samples with the mean of the first fifth after warm-up (the
first minute, or the first fifth of a short run): caches fill while warming, a leak keeps
growing. At the end every reading sent must be stored (nothing lost under load).
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from benchmarks._support import GatewayProcess, Mosquitto, load, register_devices, rss_mb
from simulators.encoders.native import NativeEncoder
from simulators.fleet import fleet_devices, fleet_messages, run_fleet
from simulators.model import SimMessage

__all__ = ["SoakResult", "run"]


@dataclass
class SoakResult:
    devices: int
    rate: float
    seconds: float
    sent: int
    readings: int
    stored: int
    rss_start_mb: float
    rss_end_mb: float
    rss_peak_mb: float
    growth: float
    samples: list[tuple[float, float]]
    load_before: str
    load_after: str


def run(devices: int = 10_000, rate: float = 3000.0, seconds: float = 600.0) -> SoakResult:
    fleet = fleet_devices(devices, prefix="soak")
    readings = 0

    def counted(stream: Iterator[SimMessage]) -> Iterator[SimMessage]:
        nonlocal readings
        for msg in stream:
            readings += len(orjson.loads(msg.payload)["values"])
            yield msg

    with tempfile.TemporaryDirectory(prefix="kv-bench-soak-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto").start()
        gateway = GatewayProcess(work / "gw", broker.url, "bench-soak-gateway")
        try:
            register_devices(work / "gw", [(d.id, d.type) for d in fleet])
            gateway.start()
            load_before = load()
            samples: list[tuple[float, float]] = []
            done = threading.Event()
            began = time.monotonic()

            def sample() -> None:
                while not done.wait(2.0):
                    samples.append((time.monotonic() - began, rss_mb(gateway.pid)[0]))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            stream = counted(
                fleet_messages(fleet, NativeEncoder(), rate=rate, start=datetime.now(UTC))
            )
            result = run_fleet(broker.url, stream, duration=seconds, rate=rate, connections=2)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if gateway.metrics()["kommunvakt_readings_stored_total"] >= readings:
                    break
                time.sleep(0.5)
            done.set()
            sampler.join()
            peak = rss_mb(gateway.pid)[1]
            load_after = load()
            gateway.stop()
            with sqlite3.connect(work / "gw" / "readings.db") as db:
                (stored,) = db.execute("SELECT count(*) FROM readings").fetchone()
        finally:
            gateway.stop()
            broker.stop()
    warm = min(60.0, seconds / 5)
    steady = [rss for t, rss in samples if t >= warm] or [s[1] for s in samples]
    fifth = max(1, len(steady) // 5)
    first, last = statistics.mean(steady[:fifth]), statistics.mean(steady[-fifth:])
    return SoakResult(
        devices, rate, result.seconds, result.messages, readings, stored,
        first, last, peak, (last - first) / first, samples, load_before, load_after,
    )  # fmt: skip


def main(quick: bool = False) -> SoakResult:
    seconds = 60.0 if quick else 600.0
    r = run(seconds=seconds)
    print(
        f"memory and soak: {r.devices:,} registered devices, fleet at {r.rate:,.0f} msg/s "
        f"for {r.seconds:.0f} s ({r.sent:,} messages, {r.readings:,} readings)"
    )
    print(f"  gateway RSS after warm-up {r.rss_start_mb:.0f} MiB → end {r.rss_end_mb:.0f} MiB "
          f"(growth {r.growth:+.1%}), peak {r.rss_peak_mb:.0f} MiB")  # fmt: skip
    print(f"  stored {r.stored:,} of {r.readings:,} readings, lost {r.readings - r.stored}")
    print(f"  {r.load_before} → {r.load_after}")
    return r


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
