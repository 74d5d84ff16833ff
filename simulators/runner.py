"""Playing a scenario on a live broker, faster than real time if asked.

Devices of families with their own connection (native, SenML, Tasmota) each get one, with
their will set; when the story says a device loses power, its connection is dropped without
a DISCONNECT and the broker publishes the will, as it would for the real thing. Bridge and
network-server families (zigbee2mqtt, ChirpStack, TTN) share one connection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

from simulators.encoders.base import Encoder
from simulators.model import SimDevice, SimMessage
from simulators.mqtt_out import Publisher

__all__ = ["run_messages"]

log = logging.getLogger(__name__)


def run_messages(
    url: str,
    messages: Iterable[SimMessage],
    encoder: Encoder,
    devices: Iterable[SimDevice],
    *,
    speed: float = 60.0,
    on_message: Callable[[SimMessage], None] = lambda _m: None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], object] = time.sleep,
    client_suffix: str = "",
    encoders: Mapping[str, Encoder] | None = None,
    logins: Mapping[str, tuple[str, str]] | None = None,
) -> int:
    """Publish ``messages`` spaced by their simulated times divided by ``speed``.

    ``encoders`` names another family for some devices (the demo mixes them all). ``logins``
    gives devices their own MQTT username and password (device id → login): such a device
    connects on its own, even where its family shares a connection (a bridge), because a
    device's login may publish only on its own topics.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    by_id = {d.id: d for d in devices}
    connections: dict[str, Publisher] = {}
    sent = 0
    first = None
    started = time.monotonic()
    try:
        for msg in messages:
            if should_stop():
                break
            if first is None:
                first = msg.at
            due = started + (msg.at - first).total_seconds() / speed
            while (ahead := due - time.monotonic()) > 0:
                if should_stop():
                    return sent
                sleep(min(ahead, 0.5))
            device = by_id[msg.device_id]
            enc = encoders.get(device.id, encoder) if encoders else encoder
            login = logins.get(device.id) if logins else None
            cid = enc.client_id(device) + client_suffix
            if login is not None and not enc.per_device_connection:
                cid = f"{enc.client_id(device)}-{device.id}{client_suffix}"
            if msg.kind == "will":
                gone = connections.pop(cid, None)
                if gone is not None:
                    gone.drop()  # the broker now publishes the will
                    log.info("%s lost its connection (will on %s)", device.id, msg.topic)
                continue
            pub = connections.get(cid)
            if pub is None:
                will = enc.offline(device, msg.at) if enc.per_device_connection else None
                pub = connections[cid] = Publisher(url, cid, will=will, login=login).start()
            pub.publish(msg)
            on_message(msg)
            sent += 1
    finally:
        for pub in connections.values():
            pub.flush(5.0)
            pub.stop()
    return sent
