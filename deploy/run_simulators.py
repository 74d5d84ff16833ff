"""The ``simulators`` compose profile: register the demo municipality, then publish.

Registers the demo sites and devices through the platform's REST API (a 409 means it exists
already) and runs the demo simulator against Mosquitto with credentials from the environment.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit

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


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    register(os.environ["SIM_API_URL"], os.environ["KOMMUNVAKT_ADMIN_TOKEN"])
    mqtt = urlsplit(os.environ["SIM_MQTT_URL"])
    sim = DemoSimulator(mqtt.hostname or "mosquitto", mqtt.port or 1883)
    if mqtt.username:
        # the demo simulator has no credential option of its own yet
        sim._client.username_pw_set(unquote(mqtt.username), unquote(mqtt.password or ""))
    sim.start()
    log.info("simulators publishing to %s:%s", mqtt.hostname, mqtt.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    sim.stop()


if __name__ == "__main__":
    main()
