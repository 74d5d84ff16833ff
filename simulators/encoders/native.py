"""Our own native format: ``kv/<device_id>/up`` with ``{"time": ..., "values": {...}}``.

A native device holds its own MQTT connection with a last will ``{"values":
{"online": false}}`` on its uplink topic (no time: the gateway stamps it when the broker
publishes the will), and says ``online: true`` when it connects.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import orjson

from simulators.encoders.base import iso_utc
from simulators.model import Observation, SimDevice, SimMessage

__all__ = ["NativeEncoder"]

_METRICS = frozenset(
    {
        "temperature", "humidity", "battery", "voltage", "door_open", "water_leak",
        "occupancy", "in_bed", "fill_level", "co2", "illuminance", "rssi", "snr", "armed",
        "alarm_button", "fall", "online", "motion", "pressure",
    }
)  # fmt: skip


class NativeEncoder:
    family: ClassVar[str] = "native"
    source: ClassVar[str] = "native"
    per_device_connection: ClassVar[bool] = True
    metrics: ClassVar[frozenset[str]] = _METRICS

    def ref(self, device: SimDevice) -> str:
        return device.id

    def client_id(self, device: SimDevice) -> str:
        return f"kv-{device.id}"

    def topic(self, device: SimDevice) -> str:
        return f"kv/{device.id}/up"

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        values = {k: v for k, v in obs.values.items() if k in _METRICS}
        if not values:
            return []
        body = orjson.dumps({"time": iso_utc(obs.at), "values": values})
        return [SimMessage(obs.at, self.topic(obs.device), body, obs.device.id)]

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        body = orjson.dumps({"time": iso_utc(at), "values": {"online": True}})
        return SimMessage(at, self.topic(device), body, device.id, kind="availability")

    def offline(self, device: SimDevice, at: datetime) -> SimMessage | None:
        body = orjson.dumps({"values": {"online": False}})
        return SimMessage(at, self.topic(device), body, device.id, kind="will")
