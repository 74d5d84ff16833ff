"""The demo municipality: a few devices publishing native payloads in accelerated time.

A technical shed warms through a summer afternoon past 25 and 30 °C and cools again, a
freezer hums at -20 °C, a room reports its climate. Deterministic under a seed.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

__all__ = ["DEMO_DEVICES", "DEMO_SITES", "DemoSimulator"]

log = logging.getLogger(__name__)

DEMO_SITES = [
    {"id": "vattenverket", "name": "Vattenverket, teknikbod 3", "address": "Verkvägen 3"},
    {"id": "solgardens-kok", "name": "Solgårdens skola, kök", "address": "Skolgatan 1"},
]

DEMO_DEVICES = [
    {
        "id": "teknikbod-3",
        "type": "technical_shed_temperature",
        "name": "Teknikbod 3",
        "site_id": "vattenverket",
        "place": "Apparatrum",
    },
    {
        "id": "frys-1",
        "type": "freezer",
        "name": "Frys 1",
        "site_id": "solgardens-kok",
        "place": "Förråd",
    },
    {
        "id": "matsal-klimat",
        "type": "room_climate",
        "name": "Matsalen",
        "site_id": "solgardens-kok",
        "place": "Matsal",
    },
]


def shed_temperature(minutes: float) -> float:
    """A summer day in accelerated time: 21 °C at dawn, peaking at 32 °C in the afternoon."""
    phase = (minutes % 120) / 120  # one 'day' every 120 simulated minutes
    return round(26.5 - 5.5 * math.cos(2 * math.pi * phase), 1)


class DemoSimulator:
    def __init__(self, host: str, port: int, *, interval_s: float = 5.0, seed: int = 1) -> None:
        self.host, self.port, self.interval_s = host, port, interval_s
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kommunvakt-demo")
        self.published = 0

    def start(self) -> None:
        self._client.connect_async(self.host, self.port)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._client.loop_stop()
        self._client.disconnect()

    def step(self, tick: int) -> list[tuple[str, dict[str, object]]]:
        now = datetime.now(UTC).isoformat()
        rng = self._rng
        return [
            (
                "kv/teknikbod-3/up",
                {
                    "time": now,
                    "values": {
                        "temperature": shed_temperature(tick),
                        "humidity": round(40 + rng.random() * 5, 1),
                        "battery": 97,
                    },
                },
            ),
            (
                "kv/frys-1/up",
                {
                    "time": now,
                    "values": {
                        "temperature": round(-20 + rng.gauss(0, 0.4), 1),
                        "door_open": False,
                    },
                },
            ),
            (
                "kv/matsal-klimat/up",
                {
                    "time": now,
                    "values": {
                        "temperature": round(21 + rng.gauss(0, 0.3), 1),
                        "humidity": 38,
                        "co2": int(600 + rng.random() * 300),
                    },
                },
            ),
        ]

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(self.interval_s if tick else 1.0):
            for topic, payload in self.step(tick):
                self._client.publish(topic, json.dumps(payload), qos=1)
                self.published += 1
            tick += 1
