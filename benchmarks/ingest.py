"""Ingest throughput end to end: MQTT (Mosquitto, QoS 1) → decode → registry → rules → SQLite.

Method (shared/research/PERFORMANCE.md §10): three persistent sessions subscribe, go away,
and the broker queues the same N messages for each of them; then each consumer drains its
queue alone and is timed:

* ``paho``: a bare paho-mqtt subscriber (MQTT 3.1.1, QoS 1) that only counts;
* ``mosquitto_sub``: the C client, output to /dev/null;
* ``gateway``: ``kommunvakt run`` (a real process) with the devices registered, which decodes,
  looks up, runs the rules, stores in SQLite and only then acknowledges.

Zero loss is checked by counting the rows in the gateway's reading store afterwards.
The gateway's peak RSS during the drain is the memory figure "10,000 devices, full load".
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._support import GatewayProcess, Mosquitto, load, register_devices, rss_mb
from simulators.encoders.native import NativeEncoder
from simulators.fleet import fleet_devices, fleet_messages, run_fleet

__all__ = ["IngestResult", "run"]

TOPIC = "kv/+/up"


@dataclass
class IngestResult:
    messages: int
    readings: int
    devices: int
    paho_rate: float
    mosquitto_sub_rate: float
    gateway_rate: float
    gateway_readings_rate: float
    stored: int
    lost: int
    rss_peak_mb: float
    load_before: str
    load_after: str

    @property
    def ratio(self) -> float:
        return self.gateway_rate / self.paho_rate if self.paho_rate else 0.0


def _session(url_port: int, client_id: str) -> None:
    """Create a persistent QoS 1 subscription and leave, so the broker queues for it."""
    done = threading.Event()
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
        protocol=mqtt.MQTTv311,
    )  # fmt: skip
    c.on_subscribe = lambda *_a: done.set()
    c.connect("127.0.0.1", url_port)
    c.loop_start()
    c.subscribe(TOPIC, qos=1)
    if not done.wait(10):
        raise TimeoutError("subscription not granted")
    c.disconnect()
    c.loop_stop()


def _drain_paho(port: int, client_id: str, expected: int) -> float:
    """Bare paho: count, auto-ack, nothing else; time from first to last message."""
    count = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c: object, _u: object, _m: object) -> None:
        nonlocal count, first, last
        if count == 0:
            first = time.perf_counter()
        count += 1
        if count >= expected:
            last = time.perf_counter()
            done.set()

    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
        protocol=mqtt.MQTTv311,
    )  # fmt: skip
    c.max_inflight_messages_set(1000)
    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not done.wait(600):
        raise TimeoutError(f"paho drained only {count} of {expected}")
    c.disconnect()
    c.loop_stop()
    return (expected - 1) / (last - first)


def _drain_mosquitto_sub(port: int, client_id: str, expected: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-i", client_id, "-c",
         "-q", "1", "-t", TOPIC, "-C", str(expected)],
        stdout=subprocess.DEVNULL, check=True, timeout=600,
    )  # fmt: skip
    return expected / (time.perf_counter() - started)


def _drain_gateway(
    gateway: GatewayProcess, expected_messages: int, expected_readings: int
) -> tuple[float, float, float]:
    gateway.start()
    profiler = None
    if os.environ.get("KV_BENCH_PROFILE"):  # a py-spy profile of the drain, for perf work
        profiler = subprocess.Popen(
            ["py-spy", "record", "-p", str(gateway.pid), "-o", os.environ["KV_BENCH_PROFILE"],
             "-f", "raw", "-r", "200", "--threads", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    peak = 0.0
    m = gateway.metrics()
    t_first = time.perf_counter()
    base_msgs, base_readings = (
        m["kommunvakt_messages_received_total"],
        m["kommunvakt_readings_stored_total"],
    )
    while True:
        m = gateway.metrics()
        peak = max(peak, rss_mb(gateway.pid)[1])
        if m["kommunvakt_readings_stored_total"] >= expected_readings:
            break
        if time.perf_counter() - t_first > 600:
            raise TimeoutError(f"gateway stored only {m['kommunvakt_readings_stored_total']}")
        # /metrics costs the gateway a little CPU (it counts alerts in SQL): poll gently
        time.sleep(0.1)
    seconds = time.perf_counter() - t_first
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)
    msg_rate = (expected_messages - base_msgs) / seconds
    reading_rate = (expected_readings - base_readings) / seconds
    return msg_rate, reading_rate, peak


def run(
    messages: int = 200_000, devices: int = 10_000, metrics_per_message: int = 1
) -> IngestResult:
    encoder = NativeEncoder()
    fleet = fleet_devices(devices, types=("room_climate",), prefix="bench")
    names = ("temperature", "humidity", "co2", "battery")[:metrics_per_message]
    with tempfile.TemporaryDirectory(prefix="kv-bench-ingest-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto").start()
        gateway: GatewayProcess | None = None
        try:
            register_devices(work / "gw", [(d.id, d.type) for d in fleet])
            ids = {"paho": "bench-paho", "sub": "bench-mosquitto-sub", "gw": "bench-gateway"}
            for cid in ids.values():
                _session(broker.port, cid)
            # Reading times spread over the last minute: fresh, so the rules see live devices
            # (old times would make every device "silent" and the run an alert storm).
            span = 60.0
            stream = fleet_messages(
                fleet, encoder, rate=messages / span,
                start=datetime.now(UTC) - timedelta(seconds=span),
                metrics=lambda _d: names, announce=False,
            )  # fmt: skip
            run_fleet(broker.url, stream, count=messages, connections=2, max_pending=1000)
            load_before = load()
            paho_rate = _drain_paho(broker.port, ids["paho"], messages)
            sub_rate = _drain_mosquitto_sub(broker.port, ids["sub"], messages)
            gateway = GatewayProcess(work / "gw", broker.url, ids["gw"])
            readings = messages * len(names)
            gw_rate, gw_readings_rate, peak = _drain_gateway(gateway, messages, readings)
            load_after = load()
            gateway.stop()
            with sqlite3.connect(work / "gw" / "readings.db") as db:
                (stored,) = db.execute("SELECT count(*) FROM readings").fetchone()
        finally:
            if gateway is not None:
                gateway.stop()
            broker.stop()
    return IngestResult(
        messages, readings, devices, paho_rate, sub_rate, gw_rate, gw_readings_rate,
        stored, readings - stored, peak, load_before, load_after,
    )  # fmt: skip


def _report(r: IngestResult, per_message: int) -> None:
    print(f"ingest end to end, {r.messages:,} queued messages ({per_message} reading(s) each), "
          f"{r.devices:,} registered devices, Mosquitto QoS 1, MQTT 3.1.1")  # fmt: skip
    print(f"  baseline bare paho subscriber : {r.paho_rate:>9,.0f} msg/s")
    print(f"  baseline mosquitto_sub        : {r.mosquitto_sub_rate:>9,.0f} msg/s")
    print(
        f"  gateway (decode→rules→SQLite) : {r.gateway_rate:>9,.0f} msg/s = "
        f"{r.gateway_readings_rate:,.0f} readings/s ({r.ratio:.0%} of bare paho)"
    )
    if per_message == 1:
        met = r.gateway_readings_rate >= 15_000 and r.ratio >= 0.6 and r.lost == 0
        verdict = (
            f"; target ≥15,000 readings/s, ≥60 % of paho, none lost: {'met' if met else 'MISSED'}"
        )
    else:  # each message costs four stored rows here, so the message ratio is not the target's
        verdict = " (profile for information: the target is set on one reading per message)"
    print(f"  stored {r.stored:,} of {r.readings:,} readings, lost {r.lost}{verdict}")
    print(f"  gateway peak RSS {r.rss_peak_mb:.0f} MiB;  {r.load_before} → {r.load_after}")


def main(quick: bool = False) -> IngestResult:
    """One reading per message is the hard case (readings/s = messages/s); the full run adds
    a room-climate message with four readings, as such sensors really report."""
    r = run(messages=100_000 if quick else 300_000)
    _report(r, 1)
    if not quick:
        _report(run(messages=150_000, metrics_per_message=4), 4)
    return r


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
