"""``kommunvakt run`` as a real process, the way an operator starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.net import free_port, wait_for

__all__ = ["PlatformProcess"]

KOMMUNVAKT = str(Path(sys.executable).with_name("kommunvakt"))
TOKEN = "test-admin-token-0123456789abcdef"


class PlatformProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        mqtt_url: str | None = None,
        env: Mapping[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.mqtt_port = free_port()
        self.token = TOKEN
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.args = args or []
        self.env = {
            **os.environ,
            "KOMMUNVAKT_DATA_DIR": str(data_dir),
            "KOMMUNVAKT_API_PORT": str(self.api_port),
            "KOMMUNVAKT_MQTT_PORT": str(self.mqtt_port),
            "KOMMUNVAKT_ADMIN_TOKEN": self.token,
            "KOMMUNVAKT_MQTT_CLIENT_ID": f"kv-test-{self.api_port}",
            **(env or {}),
        }
        if mqtt_url is not None:
            self.env["KOMMUNVAKT_MQTT_URL"] = mqtt_url
        self.proc: subprocess.Popen[bytes] | None = None
        self._logins: dict[str, tuple[str, str]] = {}
        self.log = data_dir / "platform.log"

    def start(self, timeout: float = 30.0) -> PlatformProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [KOMMUNVAKT, "run", *self.args],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"platform exited with {self.proc.returncode}: {self.output()}")
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout, what="platform healthy")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def get(self, path: str, **params: Any) -> Any:
        with self.api() as client:
            resp = client.get(path, params=params)
            resp.raise_for_status()
            return resp.json()

    def post(self, path: str, body: Any = None) -> Any:
        with self.api() as client:
            resp = client.post(
                path,
                content=json.dumps(body) if body is not None else None,
                headers={"content-type": "application/json"},
            )
            resp.raise_for_status()
            return resp.json()

    def mqtt_login(self, device_id: str) -> tuple[str, str]:
        """The device's MQTT username and password, issued through the API (as a technician
        would): the embedded broker lets no one in without one. Issued once per device."""
        if device_id not in self._logins:
            creds = self.post(f"/api/v1/devices/{device_id}/mqtt-credentials")
            self._logins[device_id] = (creds["username"], creds["password"])
        return self._logins[device_id]

    def publish(self, topic: str, body: Any) -> None:
        """Publish one native reading (``kv/<device_id>/up``) with that device's own login."""
        self.publish_all([(topic, body)])

    def publish_all(self, messages: list[tuple[str, Any]]) -> None:
        """Publish native readings at QoS 1, each device on its own connection and login, and
        wait until the broker has them all."""
        by_device: dict[str, list[tuple[str, Any]]] = {}
        for topic, body in messages:
            by_device.setdefault(topic.split("/")[1], []).append((topic, body))
        for device_id, own in by_device.items():
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=f"test-{device_id}-{self.api_port}"
            )
            client.username_pw_set(*self.mqtt_login(device_id))
            client.connect("127.0.0.1", self.mqtt_port)
            client.loop_start()
            try:
                infos = [client.publish(t, json.dumps(b), qos=1) for t, b in own]
                for info in infos:
                    info.wait_for_publish(10)
            finally:
                client.loop_stop()
                client.disconnect()

    def camera_login(self) -> tuple[str, str]:
        """The camera system's MQTT login, issued on the command line (as an operator would)."""
        out = subprocess.run(
            [KOMMUNVAKT, "mqtt", "camera-login"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        return fields["username"], fields["password"]

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
