"""The ``simulators`` compose profile: register the demo municipality, then publish.

Registers the demo sites and devices through the platform's REST API (a 409 means it exists
already), gives itself an MQTT client through Mosquitto's dynamic security (the credentials
login may administer, not publish: a role of its own, new password each start) and runs the
demo simulator with it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import threading
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from devices.dynsec import DynsecAdmin
from devices.mqtt_acl import CAMERA_TOPIC
from simulators import DEMO_DEVICES, DEMO_SITES, DemoSimulator

log = logging.getLogger("kommunvakt.simulators")


def register(api_url: str, token: str) -> None:
    for path, items in (("/api/v1/sites", DEMO_SITES), ("/api/v1/devices", DEMO_DEVICES)):
        for item in items:
            request = urllib.request.Request(  # noqa: S310 (our own API, http only)
                api_url.rstrip("/") + path,
                data=json.dumps(item).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                    pass
            except urllib.error.HTTPError as exc:
                if exc.code != 409:  # 409: registered on an earlier start
                    raise


SIM_USER, SIM_ROLE = "kommunvakt-simulators", "kommunvakt-simulators"


def simulator_credentials(admin_url: str) -> tuple[str, str]:
    password = secrets.token_urlsafe(24)
    admin = DynsecAdmin.from_url(admin_url)
    responses = admin.execute(
        [
            {"command": "deleteClient", "username": SIM_USER},
            {"command": "deleteRole", "rolename": SIM_ROLE},
            {
                "command": "createRole",
                "rolename": SIM_ROLE,
                # the demo speaks every payload family (native, ChirpStack, TTN, zigbee2mqtt,
                # Tasmota), bridges included, so it may publish on any ordinary topic; "#"
                # does not match $-topics, so $CONTROL stays the admin's
                # but never as the camera system: that denial ranks above the allow
                "acls": [
                    {"acltype": "publishClientSend", "topic": "#", "allow": True},
                    {
                        "acltype": "publishClientSend",
                        "topic": CAMERA_TOPIC,
                        "priority": 10,
                        "allow": False,
                    },
                ],
            },
            {
                "command": "createClient",
                "username": SIM_USER,
                "password": password,
                "roles": [{"rolename": SIM_ROLE}],
            },
        ]
    )
    for r in responses:
        if r.get("error") and r.get("command") not in ("deleteClient", "deleteRole"):
            raise RuntimeError(f"dynamic security refused {r.get('command')}: {r['error']}")
    return SIM_USER, password


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    register(os.environ["SIM_API_URL"], os.environ["KOMMUNVAKT_ADMIN_TOKEN"])
    mqtt = urlsplit(os.environ["SIM_MQTT_URL"])
    user, password = simulator_credentials(os.environ["SIM_MQTT_URL"])
    host, port = mqtt.hostname or "mosquitto", mqtt.port or 1883
    sim = DemoSimulator(host, port)
    sim.url = f"mqtt://{quote(user)}:{quote(password)}@{host}:{port}"
    sim.start()
    log.info("simulators publishing to %s:%s", mqtt.hostname, mqtt.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    sim.stop()


if __name__ == "__main__":
    main()
