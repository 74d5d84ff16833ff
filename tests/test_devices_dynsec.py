"""Per-device MQTT credentials against a real Mosquitto with the dynamic security plugin.

A device's credentials publish to its own topics (PUBACK success over MQTT 5, and an observer
receives it) and are refused on another device's topic (PUBACK "not authorized", and the
observer never receives it); a retired device cannot log in any more.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.dynsec import DynsecAdmin, DynsecError
from tests.support.dynsec import ADMIN_PASSWORD, dynsec_mosquitto
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port, wait_for
from tests.support.platform import PlatformProcess
from tests.support.registry_api import make_api

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    m = dynsec_mosquitto(tmp_path / "mosquitto")
    yield m
    m.stop()


@pytest.fixture
def api(
    request: pytest.FixtureRequest, tmp_path: Path, broker: Mosquitto
) -> Iterator[tuple[Any, Any]]:
    url = f"mqtt://admin:{ADMIN_PASSWORD}@127.0.0.1:{broker.port}"
    yield from make_api(request, tmp_path, dynsec_url=url)


class Mqtt5:
    """A paho MQTT 5 client that records PUBACK reason codes and received messages."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.acks: dict[int, ReasonCode] = {}
        self.received: list[str] = []
        self.connack: ReasonCode | None = None
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{free_port()}", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda _c, _u, m: self.received.append(m.topic)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(self.connected.is_set, 10, what="CONNACK")

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self.connack = rc
        self.connected.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: ReasonCode, _p: Properties) -> None:
        self.acks[mid] = rc

    def publish(self, topic: str) -> ReasonCode:
        info = self.client.publish(topic, b'{"temperature": 21.5}', qos=1)
        wait_for(lambda: info.mid in self.acks, 10, what=f"PUBACK for {topic}")
        return self.acks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_device_publishes_only_as_itself(api: tuple[Any, Any], broker: Mosquitto) -> None:
    client, _platform = api
    shed = client.post(
        "/api/v1/devices",
        json={"id": "shed-1", "type": "technical_shed_temperature", "issue_mqtt_credentials": True},
    )
    assert shed.status_code == 201, shed.text
    creds = shed.json()["mqtt_credentials"]
    assert creds["username"] == "dev-shed-1"
    assert "kv/shed-1/up" in creds["publish_topics"]
    assert not any(t.startswith(("kv/shed-2", "kv/supervision")) for t in creds["publish_topics"])
    assert client.get("/api/v1/devices/shed-1").json()["mqtt_credentials"] is None  # shown once
    assert client.get("/api/v1/devices/shed-1").json()["mqtt_username"] == "dev-shed-1"
    client.post("/api/v1/devices", json={"id": "shed-2", "type": "technical_shed_temperature"})

    observer = Mqtt5(broker.port, "admin", ADMIN_PASSWORD)
    observer.client.subscribe("kv/#", qos=1)
    device = Mqtt5(broker.port, creds["username"], creds["password"])
    try:
        assert device.connack is not None
        assert not device.connack.is_failure
        assert not device.publish("kv/shed-1/up").is_failure
        refused = device.publish("kv/shed-2/up")
        assert refused.is_failure
        assert refused.getName() == "Not authorized"
        assert device.publish("tele/shed-2/SENSOR").is_failure
        wait_for(lambda: "kv/shed-1/up" in observer.received, 10, what="own message")
        assert device.publish("kv/shed-1/up").value == 0  # a marker after the refused ones
        wait_for(lambda: observer.received.count("kv/shed-1/up") == 2, 10, what="marker")
        assert observer.received == ["kv/shed-1/up", "kv/shed-1/up"]
    finally:
        device.close()

    wrong = Mqtt5(broker.port, creds["username"], "not-the-password")
    assert wrong.connack is not None
    assert wrong.connack.is_failure
    wrong.close()

    # a new password replaces the old one
    again = client.post("/api/v1/devices/shed-1/mqtt-credentials")
    assert again.status_code == 201
    new_password = again.json()["password"]
    assert new_password != creds["password"]
    old = Mqtt5(broker.port, creds["username"], creds["password"])
    assert old.connack is not None
    assert old.connack.is_failure
    old.close()

    # retiring disables the account
    assert client.post("/api/v1/devices/shed-1/retire").status_code == 200
    retired = Mqtt5(broker.port, creds["username"], new_password)
    assert retired.connack is not None
    assert retired.connack.is_failure
    retired.close()
    observer.close()
    log = (broker.workdir / "mosquitto.log").read_text()
    assert creds["password"] not in log
    assert new_password not in log


def test_claim_can_issue_credentials(api: tuple[Any, Any], broker: Mosquitto) -> None:
    from datetime import UTC, datetime

    from devices.quarantine import QuarantinedReading

    client, platform = api
    now = datetime.now(UTC)
    platform.quarantine.record(
        "leak-9",
        "native",
        "kv/leak-9/up",
        b"{}",
        [QuarantinedReading("leak-9", now, "water_leak", False, None)],
        now,
    )
    resp = client.post(
        "/api/v1/unknown-devices/leak-9/claim",
        json={"type": "water_leak", "issue_mqtt_credentials": True},
    )
    assert resp.status_code == 201, resp.text
    creds = resp.json()["device"]["mqtt_credentials"]
    device = Mqtt5(broker.port, creds["username"], creds["password"])
    try:
        assert not device.publish("kv/leak-9/up").is_failure
        assert device.publish("kv/other/up").is_failure
    finally:
        device.close()


def test_broker_errors_are_reported(broker: Mosquitto) -> None:
    with pytest.raises(DynsecError, match="refused the admin login"):
        DynsecAdmin("127.0.0.1", broker.port, "admin", "wrong", timeout=3).issue("x")
    with pytest.raises(DynsecError, match="cannot reach"):
        DynsecAdmin("127.0.0.1", free_port(), "admin", "x", timeout=3).issue("x")
    admin = DynsecAdmin("127.0.0.1", broker.port, "admin", ADMIN_PASSWORD)
    with pytest.raises(DynsecError, match="disableClient"):
        admin.disable("nobody")


def test_the_gateway_never_receives_a_device_speaking_as_another(
    broker: Mosquitto, platform_factory: type[PlatformProcess], tmp_path: Path
) -> None:
    admin = DynsecAdmin("127.0.0.1", broker.port, "admin", ADMIN_PASSWORD)
    gateway_password = "gateway-password-0123456789"
    responses = admin.execute(
        [
            {
                "command": "createRole",
                "rolename": "gateway",
                "acls": [
                    {"acltype": "subscribePattern", "topic": "#", "priority": 0, "allow": True},
                    {"acltype": "publishClientReceive", "topic": "#", "priority": 0, "allow": True},
                ],
            },
            {
                "command": "createClient",
                "username": "gateway",
                "password": gateway_password,
                "roles": [{"rolename": "gateway"}],
            },
        ]
    )
    assert [r.get("error") for r in responses] == [None, None]
    proc = platform_factory(
        tmp_path / "data",
        mqtt_url=f"mqtt://gateway:{gateway_password}@127.0.0.1:{broker.port}",
        env={"KOMMUNVAKT_DYNSEC_URL": f"mqtt://admin:{ADMIN_PASSWORD}@127.0.0.1:{broker.port}"},
    ).start()
    shed = {"id": "shed-1", "type": "technical_shed_temperature", "issue_mqtt_credentials": True}
    creds = proc.post("/api/v1/devices", shed)["mqtt_credentials"]
    proc.post("/api/v1/devices", {"id": "shed-2", "type": "technical_shed_temperature"})

    def temperature(device_id: str) -> object:
        values = {v["metric"]: v["value"] for v in proc.get(f"/api/v1/devices/{device_id}/latest")}
        return values.get("temperature")

    device = Mqtt5(broker.port, creds["username"], creds["password"])
    try:
        body = b'{"values": {"temperature": %s}}'
        device.client.publish("kv/shed-1/up", body % b"21.5", qos=1)
        wait_for(lambda: temperature("shed-1") == 21.5, what="its own reading stored")
        info = device.client.publish("kv/shed-2/up", body % b"99.0", qos=1)
        wait_for(lambda: info.mid in device.acks, what="PUBACK of the forged message")
        assert device.acks[info.mid].is_failure
        device.client.publish("kv/shed-1/up", body % b"22.0", qos=1)  # a marker after it
        wait_for(lambda: temperature("shed-1") == 22.0, what="the marker stored")
    finally:
        device.close()
    assert proc.get("/api/v1/devices/shed-2/latest") == []
    assert proc.get("/api/v1/unknown-devices") == []
    assert proc.get("/api/v1/dead-letters") == []
    assert creds["password"] not in proc.output()
