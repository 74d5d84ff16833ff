"""Alert latency under load: a reading that breaks a rule → its notification at the channel.

Method: a real Mosquitto; ``kommunvakt run`` (a real process) with ``background_devices`` room
climate sensors and ``probes`` shed sensors registered; one recipient, an apprise ``json://``
URL pointing at an HTTP receiver on loopback. A separate process publishes native readings of
the background sensors at ``rate`` per second (QoS 1, normal values: no alert), while the
harness, every ``1 / probe_rate`` s, publishes 31 °C for a fresh shed sensor (hold time 0, so
the reading itself fires a critical alert). Latency is *publish → the HTTP receiver has the
notification*: an upper bound on "reading received → notification handed to the channel"
(it adds the MQTT hop in and the HTTP POST out). Reminders and escalation are off, so each
probe produces exactly one notification. Reported: p50, p99, max, the background rate reached
and the gateway's own counters; the machine is shared, so the load average goes with them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._support import (
    GatewayProcess,
    Mosquitto,
    free_port,
    load,
    machine,
    register_devices,
)

__all__ = ["AlertLatencyResult", "main", "run"]


@dataclass
class AlertLatencyResult:
    probes: int
    received: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    background_rate: float
    target_rate: float
    gateway_messages: float
    queue_depth_end: float
    load_before: str
    load_after: str

    def report(self) -> str:
        return (
            f"alert latency (publish → HTTP receiver) under {self.background_rate:,.0f} "
            f"readings/s (target {self.target_rate:,.0f}): p50 {self.p50_ms:.0f} ms, "
            f"p99 {self.p99_ms:.0f} ms, max {self.max_ms:.0f} ms; "
            f"{self.received}/{self.probes} notifications; gateway took "
            f"{self.gateway_messages:,.0f} messages (queue {self.queue_depth_end:,.0f} at the "
            f"end); {self.load_before} → {self.load_after}"
        )


class _Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                # the title names the device: "Kritiskt larm: probe-17 (...)"
                name = str(body.get("title", "")).split(": ", 1)[-1].split(" ", 1)[0]
                receiver.arrivals.setdefault(name, now)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _background(port: int, devices: int, rate: float, seconds: float, out: Any) -> None:
    """In its own process: publish ``rate`` readings/s for ``seconds``; report the count."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bg-{port}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent, start = 0, time.monotonic()
    tick = 0.01
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            dev = f"bg-{sent % devices}"
            payload = json.dumps({"values": {"temperature": 21.0 + (sent % 7) / 10}})
            client.publish(f"kv/{dev}/up", payload, qos=1)
            sent += 1
        time.sleep(tick)
    out.put((sent, time.monotonic() - start))
    client.loop_stop()
    client.disconnect()


def run(
    rate: float = 5000.0,
    seconds: float = 30.0,
    probe_rate: float = 5.0,
    background_devices: int = 2000,
) -> AlertLatencyResult:
    work = Path(tempfile.mkdtemp(prefix="kv-alert-latency-"))
    broker = Mosquitto(work / "mosquitto").start()
    receiver = _Receiver()
    probes = int((seconds - 6) * probe_rate)
    register_devices(
        work / "kv",
        [(f"bg-{i}", "room_climate") for i in range(background_devices)]
        + [(f"probe-{i}", "technical_shed_temperature") for i in range(probes)],
    )
    alerting = {
        "recipients": [{"name": "bench", "url": f"json://127.0.0.1:{receiver.port}/hook"}],
        "reminder_s": {},
        "escalation": [],
    }
    gateway = GatewayProcess(
        work / "kv",
        broker.url,
        "kv-bench-alerts",
        KOMMUNVAKT_ALERTING=json.dumps(alerting),
        KOMMUNVAKT_RULE_OVERRIDES=json.dumps({"shed_too_hot": {"hold_s": 0}}),
    ).start()
    load_before = load()
    before = gateway.metrics().get("kommunvakt_messages_received_total", 0.0)
    results: mp.Queue[tuple[int, float]] = mp.Queue()
    bg = mp.Process(
        target=_background, args=(broker.port, background_devices, rate, seconds, results)
    )
    bg.start()
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kv-bench-probe")
    probe.connect("127.0.0.1", broker.port)
    probe.loop_start()
    published: dict[str, float] = {}
    try:
        time.sleep(3)  # let the background load settle before measuring
        for i in range(probes):
            name = f"probe-{i}"
            published[name] = time.time()
            probe.publish(f"kv/{name}/up", json.dumps({"values": {"temperature": 31.0}}), qos=1)
            time.sleep(1 / probe_rate)
        sent, elapsed = results.get(timeout=seconds + 60)
        deadline = time.monotonic() + 30
        while len(receiver.arrivals) < probes and time.monotonic() < deadline:
            time.sleep(0.1)
        final = gateway.metrics()
        after = final.get("kommunvakt_messages_received_total", 0.0)
        depth = final.get("kommunvakt_queue_depth", 0.0)
        load_after = load()
    finally:
        probe.loop_stop()
        probe.disconnect()
        bg.join(30)
        gateway.stop()
        broker.stop()
        receiver.server.shutdown()
    lat = sorted(
        (receiver.arrivals[n] - t) * 1000 for n, t in published.items() if n in receiver.arrivals
    )
    if not lat:
        raise RuntimeError(f"no notification arrived; see {work}/kv/gateway.log")
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    return AlertLatencyResult(
        probes=probes,
        received=len(lat),
        p50_ms=statistics.median(lat),
        p99_ms=p99,
        max_ms=lat[-1],
        background_rate=sent / elapsed if elapsed else 0.0,
        target_rate=rate,
        gateway_messages=after - before,
        queue_depth_end=depth,
        load_before=load_before,
        load_after=load_after,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alert_latency", description=__doc__)
    parser.add_argument("--rate", type=float, default=5000.0, help="background readings/s")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--probe-rate", type=float, default=5.0, help="alerts raised per second")
    parser.add_argument("--devices", type=int, default=2000, help="background sensors")
    parser.add_argument("--quick", action="store_true", help="10 s, for a smoke run")
    args = parser.parse_args(argv)
    seconds = 10.0 if args.quick else args.seconds
    print(machine())
    result = run(args.rate, seconds, args.probe_rate, args.devices)
    print(result.report())
    if args.rate >= 5000:
        met = result.p99_ms <= 250 and result.received == result.probes
        print(
            f"  target p99 ≤ 250 ms at 5,000 readings/s, every probe notified: "
            f"{'met' if met else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
