"""Device health in one place: last seen, battery, signal, online/offline. Pure: ``now`` is given.

A device is offline when it has been silent for more than ``OFFLINE_AFTER`` × its expected
report interval (one or two lost LoRaWAN uplinks are normal; three in a row are not), or when
its newest ``online`` reading says false (a zigbee2mqtt availability or Tasmota LWT message)
and nothing newer has arrived since.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from devices.schemas import DeviceHealth

__all__ = ["OFFLINE_AFTER", "device_health"]

OFFLINE_AFTER = 3


class _Latest(Protocol):
    @property
    def metric(self) -> str: ...
    @property
    def value(self) -> float | bool | str: ...
    @property
    def time(self) -> datetime: ...
    @property
    def received_at(self) -> datetime | None: ...


def _heard(v: _Latest) -> datetime:
    """When the value reached us; the device's own time only where no receive time is known
    (a device's clock can be wrong or forged: it must not make a silent device look alive)."""
    return v.received_at or v.time


def _number(value: float | bool | str) -> float | None:
    if isinstance(value, bool | str):
        return None
    return float(value)


def device_health(
    latest: Iterable[_Latest], expected_interval_s: int, now: datetime
) -> DeviceHealth:
    values = {v.metric: v for v in latest}
    if not values:
        return DeviceHealth(status="never_seen")
    last_seen = max(_heard(v) for v in values.values())
    data = [_heard(v) for m, v in values.items() if m != "online"]
    silent = max(0.0, (now - last_seen).total_seconds())
    online = values.get("online")
    said_offline = (
        online is not None and online.value is False and (not data or _heard(online) >= max(data))
    )
    offline = said_offline or silent > OFFLINE_AFTER * expected_interval_s
    battery = values.get("battery")
    rssi = values.get("rssi")
    return DeviceHealth(
        status="offline" if offline else "online",
        last_seen=last_seen,
        silent_for_s=round(silent, 1),
        battery=_number(battery.value) if battery else None,
        rssi=_number(rssi.value) if rssi else None,
    )
