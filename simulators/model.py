"""Values the simulators pass around: devices, what they observe, and the MQTT messages.

A scenario yields ``Observation``s (canonical metrics, what the device would measure) in
simulated time; an encoder turns them into ``SimMessage``s the way the real product would put
them on the wire. Everything here is pure data, so tests check a scenario without a broker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["MessageKind", "Observation", "SimDevice", "SimMessage", "Value", "dev_eui"]

Value = float | bool

MessageKind = Literal["uplink", "availability", "will"]


def dev_eui(device_id: str) -> str:
    """A stable, made-up DevEUI for a simulated LoRaWAN device (16 lower-case hex digits).

    Prefixed ``70b3d5`` like many real EUIs, then a hash of the id: the same id always gets
    the same EUI, so a registration and a simulator run agree without sharing state.
    """
    return "70b3d5" + hashlib.sha256(device_id.encode()).hexdigest()[:10]


@dataclass(frozen=True, slots=True)
class SimDevice:
    """A simulated device: its registry id and catalogue type (``devices.catalogue``)."""

    id: str
    type: str
    name: str = ""
    site_id: str | None = None
    place: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """What a device reports at ``at``: canonical metrics, or that it went offline/online.

    ``online`` is ``None`` for an ordinary report. ``False`` means the device dropped off
    (its connection dies, so the broker sends its will; a bridge reports it unavailable);
    ``True`` means it announces itself again.
    """

    at: datetime
    device: SimDevice
    values: Mapping[str, Value] = field(default_factory=dict)
    online: bool | None = None


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One MQTT publication, at simulated time ``at``.

    ``kind == "will"`` is the last will the broker publishes when the device's connection
    dies; a live run produces it by dropping the connection, not by publishing it.
    """

    at: datetime
    topic: str
    payload: bytes
    device_id: str
    kind: MessageKind = "uplink"
    retain: bool = False
    qos: int = 1
