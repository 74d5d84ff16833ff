"""Which MQTT topics a device may publish and subscribe to, derived from how it speaks.

One answer for both brokers: Mosquitto's dynamic security (``devices.dynsec``) and the embedded
broker (``devices.mqtt_accounts``). A device publishes only on the topics its own ids name in
each payload family it has a ref for, and subscribes only to its own downlink topics, so it can
neither speak as another device nor read anyone's readings. What a payload says inside (a
SenML ``bn``) is the gateway's to check, not the broker's. Camera-check events are published
by the camera system's account alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from devices.schemas import DeviceRef, MqttCredentials

__all__ = [
    "CAMERA_TOPIC",
    "CredentialIssuer",
    "covers",
    "device_publish_topics",
    "device_subscribe_topics",
]

#: where the camera system publishes the outcome of a look (``supervision.camera``)
CAMERA_TOPIC = "kv/supervision/+/check"


class CredentialIssuer(Protocol):
    """Issues a device's MQTT login and takes it away: dynamic security or the embedded store."""

    def issue(self, device_id: str, refs: Iterable[DeviceRef]) -> MqttCredentials: ...

    def disable(self, username: str) -> None: ...


def _topic_safe(name: str) -> bool:
    # a ref holding a wildcard would widen the grant to other devices' topics
    return bool(name) and "+" not in name and "#" not in name and not name.startswith("$")


def device_publish_topics(device_id: str, refs: Iterable[DeviceRef]) -> list[str]:
    """The topic filters the device may publish on: each payload family's topic naming it.

    A ref is unique across all devices and families (the registry refuses a ref that names
    another device, and a device's id is its native ref), and the gateway maps a message to a
    device by the ref alone; so every family's topic that names one of the device's own refs
    speaks as that device and no other. A device whose ref is its id (a Tasmota plug named
    after its id, say) therefore needs no family recorded to publish in its format.
    """
    topics: list[str] = []
    for name in dict.fromkeys([device_id, *(r.ref for r in refs)]):
        if not _topic_safe(name):
            continue
        topics += [
            f"kv/{name}/up",
            f"zigbee2mqtt/{name}",
            f"zigbee2mqtt/{name}/availability",
            f"tele/{name}/+",
            # ChirpStack writes DevEUIs in lower case in its topics
            f"application/+/device/{name.lower()}/event/+",
            f"v3/+/devices/{name}/#",
            f"senml/{name}",
            f"senml/{name}/#",
        ]
    return list(dict.fromkeys(topics))


def device_subscribe_topics(device_id: str) -> list[str]:
    return [f"kv/{device_id}/down/#"]


def covers(allowed: str, requested: str) -> bool:
    """Whether the filter ``allowed`` admits every topic of ``requested`` (a topic or a filter).

    ``kv/a/down/#`` covers ``kv/a/down/set`` but not ``#`` nor ``kv/+/down/set``: a wildcard in
    the request is covered only by the same or a wider wildcard in the grant.
    """
    if requested.startswith("$") and not allowed.startswith("$"):
        return False
    a_parts, r_parts = allowed.split("/"), requested.split("/")
    for i, a in enumerate(a_parts):
        if a == "#":
            return True
        if i >= len(r_parts):
            return False
        r = r_parts[i]
        if r == "#":
            return False
        if a == "+":
            continue
        if a != r:
            return False
    return len(a_parts) == len(r_parts)
