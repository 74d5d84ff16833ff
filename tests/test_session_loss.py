"""A broker that comes back without the gateway's session: noticed, counted, alerted.

Mosquitto keeps sessions in memory and saves them every ``autosave_interval``; killed before
that, it restarts without the gateway's subscription and drops what devices publish until the
gateway subscribes again. The gateway must notice (the CONNACK's "session present" flag), count
it in ``/metrics`` and raise an operator alert. With ``autosave_on_changes`` (the shipped
config) the subscription is saved at once and a kill -9 loses nothing published meanwhile.
"""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.metrics import metric
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for
from tests.support.publish import publish
from tests.support.publish import stored as count_stored

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

#: what the persistence costs: the default interval (the old shipped config) and the new one
SAVED_LATE = "autosave_interval 3600\n"
SHIPPED = Path(__file__).resolve().parents[1] / "deploy" / "mosquitto" / "mosquitto.conf"
SAVED_ON_CHANGES = "".join(
    line + "\n" for line in SHIPPED.read_text().splitlines() if line.startswith("autosave")
)


def persistent_broker(workdir: Path, saving: str) -> Mosquitto:
    workdir.mkdir(parents=True, exist_ok=True)
    # run as root, Mosquitto would switch to its own user, which cannot write pytest's tmp dir
    conf = f"persistence true\npersistence_location {workdir}/\nuser {getpass.getuser()}\n"
    return Mosquitto(workdir, extra_conf=conf + saving).start()


def stored(proc: Any) -> int:
    return count_stored(proc.data_dir, "rum-1")


def session_alerts(proc: Any) -> list[dict[str, Any]]:
    return [a for a in proc.get("/api/v1/alerts") if a["rule"] == "mqtt_session_lost"]


def start_gateway(factory: Any, path: Path, broker: Mosquitto) -> Any:
    proc = factory(path, mqtt_url=broker.url).start()
    proc.post("/api/v1/devices", {"id": "rum-1", "type": "room_climate"})
    publish(broker, "rum-1", [20.0], first=-3600)
    wait_for(lambda: stored(proc) == 1, what="first reading stored")
    return proc


def test_kill_before_autosave_is_noticed(platform_factory: Any, tmp_path: Path) -> None:
    broker = persistent_broker(tmp_path / "mq", SAVED_LATE)
    try:
        proc = start_gateway(platform_factory, tmp_path / "kv", broker)
        assert metric(proc, "kommunvakt_mqtt_sessions_lost_total") == 0
        broker.kill()
        wait_for(lambda: metric(proc, "kommunvakt_mqtt_connected") == 0, what="disconnected")
        time.sleep(6)  # the outage: long enough for an uncapped backoff to grow past 4 s
        broker.start()
        back = time.monotonic()
        wait_for(lambda: metric(proc, "kommunvakt_mqtt_connected") == 1, what="reconnected")
        assert time.monotonic() - back < 3.0  # the reconnect backoff is capped at 2 s
        # one warning for the outage, not one per attempt (there were several a second)
        assert proc.log.read_text().count("cannot reach MQTT broker") <= 1
        wait_for(
            lambda: metric(proc, "kommunvakt_mqtt_sessions_lost_total") == 1,
            timeout=20,
            what="the lost session counted",
        )
        alerts = wait_for(lambda: session_alerts(proc), what="an operator alert")
        assert isinstance(alerts, list)
        assert alerts[0]["state"] == "active"
        assert "förlorade" in alerts[0]["message"]
        # subscribed again: what is published now arrives
        wait_for(lambda: metric(proc, "kommunvakt_mqtt_connected") == 1, what="resubscribed")
        publish(broker, "rum-1", [21.0, 22.0], first=100)
        wait_for(lambda: stored(proc) == 3, what="readings after the loss")
        assert "had lost our session" in proc.output()
    finally:
        broker.stop()


def test_session_saved_on_change_survives_kill(platform_factory: Any, tmp_path: Path) -> None:
    """The shipped config: saved after some traffic, the session outlives a kill -9."""
    assert "autosave_on_changes true" in SAVED_ON_CHANGES
    broker = persistent_broker(tmp_path / "mq", SAVED_ON_CHANGES)
    try:
        proc = start_gateway(platform_factory, tmp_path / "kv", broker)
        publish(broker, "rum-1", [float(v) for v in range(100)], first=1000)
        wait_for(lambda: stored(proc) == 101, what="traffic before the kill")
        broker.kill()
        broker.start()
        # published while the gateway is still reconnecting: the saved session queues it
        publish(broker, "rum-1", [float(v) for v in range(100)])
        wait_for(lambda: stored(proc) == 201, timeout=20, what="every reading stored")
        assert metric(proc, "kommunvakt_mqtt_sessions_lost_total") == 0
        assert session_alerts(proc) == []
    finally:
        broker.stop()


def test_gateway_restart_against_a_broker_that_forgot_it(
    platform_factory: Any, tmp_path: Path
) -> None:
    """The gateway was down while the broker lost its session: noticed on the first connect."""
    broker = persistent_broker(tmp_path / "mq", SAVED_LATE)
    try:
        proc = start_gateway(platform_factory, tmp_path / "kv", broker)
        proc.stop()
        broker.kill()
        broker.start()
        proc.start()
        wait_for(
            lambda: metric(proc, "kommunvakt_mqtt_sessions_lost_total") == 1,
            what="the lost session counted after a gateway restart",
        )
        wait_for(lambda: session_alerts(proc), what="an operator alert after the restart")
    finally:
        broker.stop()
