"""The embedded amqtt broker: `kommunvakt run` with no external broker, and a taken port."""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.net import wait_for
from tests.support.platform import KOMMUNVAKT, PlatformProcess


class Client:
    """A paho client on the embedded broker that remembers what the broker answered."""

    def __init__(
        self,
        port: int,
        login: tuple[str, str] | None,
        client_id: str,
        *,
        clean_session: bool = True,
        will_topic: str | None = None,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=clean_session,
        )
        if will_topic is not None:
            self.client.will_set(will_topic, json.dumps({"values": {"temperature": 99.0}}), 1)
        if login is not None:
            self.client.username_pw_set(*login)
        self.connack: list[Any] = []
        self.granted: dict[int, list[Any]] = {}
        self.client.on_connect = lambda _c, _u, _f, rc, _p=None: self.connack.append(rc)
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p=None: self.granted.update(
            {mid: list(codes)}
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(lambda: self.connack, 10, what="CONNACK")

    @property
    def accepted(self) -> bool:
        return not self.connack[0].is_failure

    def subscribe(self, topic: str) -> bool:
        _rc, mid = self.client.subscribe(topic, qos=1)
        wait_for(lambda: mid in self.granted, 10, what="SUBACK")
        return not self.granted[mid][0].is_failure

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        self.client.publish(topic, json.dumps(body), qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _two_devices(proc: Any) -> tuple[tuple[str, str], tuple[str, str]]:
    for dev in ("bod-1", "bod-2"):
        proc.post("/api/v1/devices", {"id": dev, "type": "technical_shed_temperature"})
    return proc.mqtt_login("bod-1"), proc.mqtt_login("bod-2")


def test_anonymous_and_wrong_logins_are_refused(platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    proc.post("/api/v1/devices", {"id": "bod-1", "type": "technical_shed_temperature"})
    user, password = proc.mqtt_login("bod-1")
    for login in (None, (user, "not-the-password"), ("nobody", password)):
        client = Client(proc.mqtt_port, login, "test-intruder")
        try:
            assert not client.accepted, login
        finally:
            client.close()
    # the command-line subscriber an attacker would try first
    result = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(proc.mqtt_port), "-t", "#", "-C", "1",
         "-W", "5"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert "refused" in result.stderr.lower() or "not authori" in result.stderr.lower()


def test_a_device_cannot_publish_as_another(platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    login_1, _ = _two_devices(proc)
    device = Client(proc.mqtt_port, login_1, "test-bod-1")
    try:
        assert device.accepted
        device.publish("kv/bod-2/up", {"values": {"temperature": 99.0}})
        device.publish("kv/bod-1/up", {"values": {"temperature": 21.5}})  # a marker after it
    finally:
        device.close()
    wait_for(lambda: proc.get("/api/v1/devices/bod-1/latest"), what="own reading")
    assert proc.get("/api/v1/devices/bod-2/latest") == []
    # a will is a publish the broker makes later for the client: on another's topic, no login
    willing = Client(proc.mqtt_port, login_1, "test-bod-1-will", will_topic="kv/bod-2/up")
    try:
        assert not willing.accepted
    finally:
        willing.close()


def test_a_device_cannot_read_other_topics(platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    login_1, _ = _two_devices(proc)
    device = Client(proc.mqtt_port, login_1, "test-bod-1")
    try:
        assert not device.subscribe("#")
        assert not device.subscribe("kv/+/up")
        assert not device.subscribe("kv/supervision/+/check")
        assert device.subscribe("kv/bod-1/down/#")
    finally:
        device.close()


def test_a_device_cannot_take_the_gateways_session(platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    login_1, _ = _two_devices(proc)
    gateway_id = proc.env["KOMMUNVAKT_MQTT_CLIENT_ID"]
    thief = Client(proc.mqtt_port, login_1, gateway_id, clean_session=False)
    try:
        assert not thief.accepted
    finally:
        thief.close()
    # the gateway reconnects and goes on storing
    device = Client(proc.mqtt_port, login_1, "test-bod-1")
    try:
        device.publish("kv/bod-1/up", {"values": {"temperature": 22.0}})
    finally:
        device.close()
    wait_for(lambda: proc.get("/api/v1/devices/bod-1/latest"), 30, what="reading after it")


def test_a_refused_login_does_not_end_the_gateways_subscriptions(
    platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    _two_devices(proc)
    gateway_id = proc.env["KOMMUNVAKT_MQTT_CLIENT_ID"]
    for client_id in (gateway_id, f"{gateway_id}-supervision"):
        intruder = Client(proc.mqtt_port, None, client_id, clean_session=True)
        try:
            assert not intruder.accepted
        finally:
            intruder.close()
    proc.publish("kv/bod-1/up", {"values": {"temperature": 22.0}})
    wait_for(lambda: proc.get("/api/v1/devices/bod-1/latest"), 30, what="reading after it")


def test_only_the_camera_system_publishes_camera_events(
    platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    login_1, _ = _two_devices(proc)
    event = {"outcome": "ok", "staff_id": "np-3", "time": datetime.now(UTC).isoformat()}
    device = Client(proc.mqtt_port, login_1, "test-bod-1")
    try:
        device.publish("kv/supervision/r-from-device/check", event)
    finally:
        device.close()
    camera = Client(proc.mqtt_port, proc.camera_login(), "test-camera")
    try:
        assert camera.accepted
        assert not camera.subscribe("#")
        camera.publish("kv/supervision/r-from-camera/check", event)
    finally:
        camera.close()

    def residents() -> set[str]:
        rows = proc.get("/api/v1/audit", action="supervision.check.camera")
        return {r["target_id"] for r in rows}

    # both residents are unknown: each event that reaches the gateway is refused on record
    wait_for(lambda: "r-from-camera" in residents(), what="the camera's event")
    assert residents() == {"r-from-camera"}


def test_reading_through_embedded_broker_is_stored(platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    proc.post("/api/v1/devices", {"id": "frys-2", "type": "freezer"})
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-embedded-pub")
    client.username_pw_set(*proc.mqtt_login("frys-2"))
    client.connect("127.0.0.1", proc.mqtt_port)
    client.loop_start()
    try:
        info = client.publish(
            "kv/frys-2/up",
            json.dumps({"values": {"temperature": -19.5, "door_open": True}}),
            qos=1,
        )
        info.wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
    latest = wait_for(lambda: proc.get("/api/v1/devices/frys-2/latest"), what="stored reading")
    assert {(v["metric"], v["value"]) for v in latest} == {
        ("temperature", -19.5),
        ("door_open", True),
    }


def test_taken_mqtt_port_is_a_one_line_error(tmp_path: Path) -> None:
    proc = PlatformProcess(tmp_path / "kv")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", proc.mqtt_port))
        squatter.listen()
        result = subprocess.run(
            [KOMMUNVAKT, "run"], env=proc.env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert f"MQTT port 127.0.0.1:{proc.mqtt_port} is already in use" in err[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_taken_api_port_is_a_one_line_error(tmp_path: Path) -> None:
    proc = PlatformProcess(tmp_path / "kv")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", proc.api_port))
        squatter.listen()
        result = subprocess.run(
            [KOMMUNVAKT, "run"], env=proc.env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"API port 127.0.0.1:{proc.api_port} is not free" in result.stderr
    assert "Traceback" not in result.stderr
