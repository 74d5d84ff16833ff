"""The broker can fail too: a gateway given every node of a three-node NATS cluster (JetStream,
MQTT, sessions replicated on all three) keeps its persistent session when the node it is
connected to is killed under load, and stores every reading published, exactly once each.

Devices publish through another node (in production: every node behind one address, e.g.
haproxy). Real processes: three nats-server nodes, ``kommunvakt run``, ``mosquitto_pub``.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.metrics import metric
from tests.support.nats import NatsCluster, nats_binary
from tests.support.net import wait_for
from tests.support.publish import T0, stored

pytestmark = [pytest.mark.slow, pytest.mark.skipif(nats_binary() is None, reason="no nats-server")]

READINGS = 3000


def _publisher(host: str, port: int, values: range, first: int) -> subprocess.Popen[bytes]:
    """QoS 1 readings of ``rum-1``, a second apart, through one broker node."""
    proc = subprocess.Popen(
        [
            "mosquitto_pub",
            "-h",
            host,
            "-p",
            str(port),
            "-q",
            "1",
            "-l",
            "-i",
            "device-rum-1",
            "-t",
            "kv/rum-1/up",
        ],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    for i in values:
        at = (T0 + timedelta(seconds=first + i)).isoformat()
        line = json.dumps({"time": at, "values": {"temperature": 20 + i % 10}})
        proc.stdin.write(line.encode() + b"\n")
    proc.stdin.close()
    return proc


def test_killing_the_connected_node_under_load_loses_nothing(
    platform_factory: Any, tmp_path: Path
) -> None:
    cluster = NatsCluster(tmp_path / "nats").start()
    try:
        gateway = platform_factory(tmp_path / "kv", mqtt_url=cluster.url).start()
        gateway.post("/api/v1/devices", {"id": "rum-1", "type": "room_climate"})
        device_node = cluster.nodes[2]
        _publisher(device_node.host, device_node.port, range(1), -3600).wait(30)
        wait_for(lambda: stored(gateway.data_dir, "rum-1") == 1, 30, what="first reading")
        # the gateway is on the first address
        assert f"connected to MQTT broker 127.0.0.1:{cluster.nodes[0].port}" in gateway.output()

        load = _publisher(device_node.host, device_node.port, range(READINGS), 0)
        wait_for(lambda: stored(gateway.data_dir, "rum-1") > READINGS // 10, 60, what="load")
        cluster.kill(0)  # the node the gateway is connected to
        assert load.wait(120) == 0
        wait_for(
            lambda: stored(gateway.data_dir, "rum-1") == READINGS + 1,
            120,
            0.2,
            what="every reading stored",
        )
        out = gateway.output()
        assert f"connected to MQTT broker 127.0.0.1:{cluster.nodes[1].port}" in out
        # the session was there on the other node: nothing dropped, no session-loss alert
        assert metric(gateway, "kommunvakt_mqtt_sessions_lost_total") == 0
        assert "had lost our session" not in out
    finally:
        cluster.stop()


def test_a_list_of_broker_addresses_is_parsed_with_one_login() -> None:
    from gateway.settings import MqttTarget

    target = MqttTarget.parse("mqtts://gw:hemligt@mq1.kommun.se, mqtts://mq2.kommun.se:8884")
    assert target.addresses == (("mq1.kommun.se", 8883), ("mq2.kommun.se", 8884))
    assert (target.username, target.password, target.tls) == ("gw", "hemligt", True)
    assert repr(target) == "mqtts://gw:***@mq1.kommun.se:8883,mq2.kommun.se:8884"
    with pytest.raises(ValueError, match="must all be mqtt:// or all mqtts://"):
        MqttTarget.parse("mqtts://mq1:8883,mqtt://mq2:1883")
    with pytest.raises(ValueError, match="one login"):
        MqttTarget.parse("mqtt://a:x@mq1,mqtt://b:y@mq2")
    with pytest.raises(ValueError, match="empty"):
        MqttTarget.parse(" , ")
