"""The gateway survives a broker restart: it reconnects with backoff and subscribes again."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.mqtt import Backoff
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for


def test_backoff_is_capped_and_jittered() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(7))
    delays = [backoff.next() for _ in range(12)]
    assert all(0 <= d <= 30.0 for d in delays)
    assert len(set(delays)) == len(delays)  # jitter: no two retries in lockstep
    assert max(delays[:3]) <= 2.0  # early retries are quick
    backoff.reset()
    assert backoff.next() <= 0.5


@pytest.mark.mosquitto
def test_broker_restart_resubscribes(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv", mqtt_url=mosquitto.url).start()
    proc.post("/api/v1/devices", {"id": "rum-1", "type": "room_climate"})

    def pub(value: float) -> None:
        subprocess.run(
            [
                "mosquitto_pub",
                "-p",
                str(mosquitto.port),
                "-q",
                "1",
                "-t",
                "kv/rum-1/up",
                "-m",
                json.dumps({"values": {"temperature": value}}),
            ],
            check=True,
            timeout=30,
        )

    pub(20.0)
    wait_for(lambda: proc.get("/api/v1/devices/rum-1/latest"), what="first reading")
    # A broker without persistence forgets every session and subscription when it restarts.
    mosquitto.stop()
    with proc.api() as client:
        wait_for(
            lambda: client.get("/healthz").status_code == 503, what="health reports the outage"
        )
    mosquitto.start()
    with proc.api() as client:
        wait_for(lambda: client.get("/healthz").status_code == 200, timeout=40, what="reconnected")
    pub(22.5)
    wait_for(
        lambda: proc.get("/api/v1/devices/rum-1/latest")[0]["value"] == 22.5,
        timeout=20,
        what="reading after the restart",
    )
