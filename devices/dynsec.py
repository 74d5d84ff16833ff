"""Per-device MQTT credentials through Mosquitto's dynamic security plugin.

Commands are JSON published to ``$CONTROL/dynamic-security/v1``; the broker answers on
``$CONTROL/dynamic-security/v1/response`` (mosquitto plugins/dynamic-security/README.md). The
account comes from ``KOMMUNVAKT_DYNSEC_URL`` (``mqtt://user:pw@host:port``): an account whose
role may only use the control topic, never the gateway's own login. Each device gets a client
``dev-<id>`` holding a role ``device-<id>`` whose only ACLs allow publishing on the topics its
own ids name (``devices.mqtt_acl``) and subscribing to ``kv/<id>/down/#``; with the plugin's
default ACL access (publishClientSend deny) it can publish nowhere else, so it cannot speak as
another device.
Passwords are returned once and never logged or stored.
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.mqtt_target import MqttTarget
from devices.errors import RegistryError
from devices.mqtt_acl import device_publish_topics, device_subscribe_topics
from devices.schemas import DeviceRef, MqttCredentials

__all__ = ["CONTROL_TOPIC", "DynsecAdmin", "DynsecError"]

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"


class DynsecError(RegistryError):
    """The broker refused a command, or could not be reached."""


class DynsecAdmin:
    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        *,
        timeout: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._password = username, password
        self.timeout = timeout
        self._lock = threading.Lock()  # one admin conversation at a time

    @classmethod
    def from_url(cls, url: str) -> DynsecAdmin:
        t = MqttTarget.parse(url)
        return cls(t.host, t.port, t.username, t.password)

    def execute(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send commands in one message; the responses in order (``error`` set on failure)."""
        with self._lock:
            return self._execute(commands)

    def _execute(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        done = threading.Event()
        subscribed = threading.Event()
        box: dict[str, Any] = {}
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"kv-dynsec-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
        )
        if self._username:
            client.username_pw_set(self._username, self._password)

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
            if rc.is_failure:
                box["error"] = f"broker refused the admin login ({rc})"
                subscribed.set()  # stop waiting: paho would keep retrying the login
                return
            c.subscribe(RESPONSE_TOPIC, qos=1)

        def on_subscribe(_c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any = None) -> None:
            if any(code.is_failure for code in codes):
                box["error"] = "the admin account may not read dynamic-security responses"
            subscribed.set()

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            box["responses"] = orjson.loads(msg.payload).get("responses", [])
            done.set()

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        try:
            client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise DynsecError(f"cannot reach the broker at {self.host}:{self.port}: {exc}") from exc
        client.loop_start()
        try:
            if not subscribed.wait(self.timeout) and "error" not in box:
                raise DynsecError("no answer from the broker's dynamic security plugin")
            if "error" in box:
                raise DynsecError(box["error"])
            client.publish(CONTROL_TOPIC, orjson.dumps({"commands": commands}), qos=1)
            if not done.wait(self.timeout):
                raise DynsecError("the dynamic security plugin did not answer (is it loaded?)")
            if "error" in box:
                raise DynsecError(box["error"])
            responses: list[dict[str, Any]] = box["responses"]
            return responses
        finally:
            client.disconnect()
            client.loop_stop()

    def _check(self, responses: list[dict[str, Any]], tolerate: tuple[str, ...] = ()) -> None:
        for r in responses:
            error = r.get("error")
            if error and r.get("command") not in tolerate:
                raise DynsecError(f"{r.get('command')}: {error}")

    def issue(self, device_id: str, refs: Iterable[DeviceRef] = ()) -> MqttCredentials:
        """Create (or recreate, with a new password) the device's client and role."""
        username, role = f"dev-{device_id}", f"device-{device_id}"
        password = secrets.token_urlsafe(24)
        topics = device_publish_topics(device_id, refs)
        acls = [
            {"acltype": "publishClientSend", "topic": t, "priority": 0, "allow": True}
            for t in topics
        ] + [
            {"acltype": "subscribePattern", "topic": t, "priority": 0, "allow": True}
            for t in device_subscribe_topics(device_id)
        ]
        responses = self.execute(
            [
                {"command": "deleteClient", "username": username},
                {"command": "deleteRole", "rolename": role},
                {"command": "createRole", "rolename": role, "acls": acls},
                {
                    "command": "createClient",
                    "username": username,
                    "password": password,
                    "textname": f"kommunvakt device {device_id}",
                    "roles": [{"rolename": role, "priority": 0}],
                },
            ]
        )
        self._check(responses, tolerate=("deleteClient", "deleteRole"))
        log.info("issued MQTT credentials for device %s (user %s)", device_id, username)
        return MqttCredentials(username=username, password=password, publish_topics=topics)

    def disable(self, username: str) -> None:
        """A retired device may not log in any more (and is kicked if connected)."""
        self._check(self.execute([{"command": "disableClient", "username": username}]))
        log.info("disabled MQTT client %s", username)
