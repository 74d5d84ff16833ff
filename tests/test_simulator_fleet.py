"""Fleet mode: rate and order in simulated time, bounded pacing, availability churn; and the
live runner against a real Mosquitto, where a dropped device's will comes from the broker."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.encoders import ENCODERS
from simulators.fleet import fleet_devices, fleet_messages, run_fleet
from simulators.mqtt_out import Pacer
from simulators.runner import run_messages
from simulators.scenarios import SCENARIOS, play
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_fleet_of_ten_thousand_at_a_rate_in_simulated_time() -> None:
    devices = fleet_devices(10_000)
    assert len({d.id for d in devices}) == 10_000
    stream = fleet_messages(devices, ENCODERS["native"], rate=2000, start=START, announce=False)
    first = list(itertools.islice(stream, 20_000))
    assert first[-1].at - first[0].at == timedelta(seconds=19_999 / 2000)
    per_device = {}
    for m in first:
        per_device.setdefault(m.device_id, []).append(m.at)
    assert len(per_device) == 10_000
    assert all(len(v) == 2 for v in per_device.values())  # round robin


def test_fleet_announces_every_device_and_churns_deterministically() -> None:
    devices = fleet_devices(50, types=("water_leak",))
    enc = ENCODERS["zigbee2mqtt"]

    def take(seed: int) -> list[tuple[str, bytes]]:
        stream = fleet_messages(devices, enc, rate=10, start=START, churn=0.05, seed=seed)
        return [(m.topic, m.payload) for m in itertools.islice(stream, 1000)]

    msgs = take(3)
    assert msgs == take(3)
    online = [t for t, p in msgs[:50] if t.endswith("/availability")]
    assert len(online) == 50
    offline = [t for t, p in msgs[50:] if orjson.loads(p) == {"state": "offline"}]
    assert offline, "churn drops devices off"


def test_pacer_holds_the_rate() -> None:
    pacer = Pacer(1000.0)
    began = time.monotonic()
    for _ in range(300):
        pacer.wait()
    elapsed = time.monotonic() - began
    assert 0.25 <= elapsed < 1.5, elapsed  # 300 events at 1000/s: 0.3 s, on a busy machine more


def test_invalid_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        next(fleet_messages(fleet_devices(1), ENCODERS["native"], rate=0, start=START))


@pytest.mark.mosquitto
def test_fleet_and_scenario_on_a_real_broker(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "m").start()
    got: list[mqtt.MQTTMessage] = []
    lock = threading.Lock()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-sub")

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append(msg)

    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.subscribe("#", qos=1)
    sub.loop_start()
    try:
        wait_for(lambda: sub.is_connected(), what="subscriber connected")
        devices = fleet_devices(200)
        stream = fleet_messages(devices, ENCODERS["native"], rate=2000, start=START)
        result = run_fleet(broker.url, stream, count=600, rate=2000, connections=3)
        assert result.messages == 600
        assert result.seconds >= 0.25  # paced: 600 at 2000/s cannot take less than ~0.3 s
        wait_for(lambda: len(got) >= 600, what="fleet messages delivered")

        # The offline story at ×20,000: the will must come from the broker, not from us.
        with lock:
            got.clear()
        s = SCENARIOS["offline"]
        msgs = list(play(s, ENCODERS["native"], start=START))
        sent = run_messages(broker.url, msgs, ENCODERS["native"], s.devices, speed=20_000)
        assert sent == sum(m.kind != "will" for m in msgs)

        def will_seen() -> bool:
            with lock:
                return any(orjson.loads(m.payload) == {"values": {"online": False}} for m in got)

        wait_for(will_seen, what="the broker published the dropped device's will")
        wait_for(lambda: len(got) >= sent + 1, what="every scenario message delivered")
    finally:
        sub.loop_stop()
        sub.disconnect()
        broker.stop()
