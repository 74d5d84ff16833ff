"""The encoder seam: how one product family puts an observation on the wire.

An encoder knows the topic layout and payload shape of a family, which metrics that family
can express at all (a zigbee2mqtt bridge has no dBm RSSI, a Tasmota plug no battery), and
whether each device keeps its own MQTT connection (and so a last will) or speaks through a
bridge or network server that reports availability for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from simulators.model import Observation, SimDevice, SimMessage, Value

__all__ = ["Encoder", "iso_utc", "split_values"]


def iso_utc(at: datetime, *, fraction: bool = True) -> str:
    """RFC 3339 in UTC with a ``Z`` (what ChirpStack and The Things Stack send)."""
    text = at.astimezone(UTC).isoformat(timespec="microseconds" if fraction else "seconds")
    return text.replace("+00:00", "Z")


def split_values(
    values: Mapping[str, Value], supported: frozenset[str]
) -> tuple[dict[str, Value], list[str]]:
    """The values a family can carry, and the names of those it cannot."""
    kept = {k: v for k, v in values.items() if k in supported}
    return kept, sorted(set(values) - supported)


class Encoder(Protocol):
    #: the ``ingest.formats`` family name whose decoder reads what this encoder writes
    family: ClassVar[str]
    #: the registry's ``DeviceRef.source`` for the ref this family uses
    source: ClassVar[str]
    #: True when every device holds its own MQTT connection (it has a will)
    per_device_connection: ClassVar[bool]
    #: canonical metrics this family can express
    metrics: ClassVar[frozenset[str]]

    def ref(self, device: SimDevice) -> str:
        """The ``device_ref`` the family's decoder yields for this device."""
        ...

    def client_id(self, device: SimDevice) -> str:
        """The MQTT client id the device (or its bridge) connects with."""
        ...

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        """The message(s) for one report; ``seq`` is the device's frame counter."""
        ...

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        """What the device or its bridge publishes when it comes (back) online."""
        ...

    def offline(self, device: SimDevice, at: datetime) -> SimMessage | None:
        """The will (``kind == "will"``) or the bridge's availability message when the
        device drops off; ``None`` where the family only shows it by silence (LoRaWAN)."""
        ...
