"""The embedded amqtt broker: `kommunvakt run` with no external broker, and a taken port."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.net import wait_for
from tests.support.platform import KOMMUNVAKT, PlatformProcess


def test_reading_through_embedded_broker_is_stored(platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(tmp_path / "kv").start()
    proc.post("/api/v1/devices", {"id": "frys-2", "type": "freezer"})
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-embedded-pub")
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
