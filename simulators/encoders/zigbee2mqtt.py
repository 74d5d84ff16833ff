"""zigbee2mqtt: ``zigbee2mqtt/<friendly name>`` state objects and ``.../availability``.

One bridge connection speaks for every Zigbee device (its own will is on
``zigbee2mqtt/bridge/state``). Keys and units as z2m exposes them
(zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages): ``contact`` true means *closed*,
``voltage`` in mV, ``pressure`` in hPa, ``linkquality`` 0–255 (LQI, not dBm: no RSSI here),
``last_seen`` in ISO 8601 (``advanced.last_seen: ISO_8601``). Availability (z2m 2.x):
``{"state": "online"}`` / ``{"state": "offline"}``, retained, published by the bridge when a
device stops answering.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import orjson

from simulators.encoders.base import iso_utc
from simulators.model import Observation, SimDevice, SimMessage, Value

__all__ = ["Zigbee2mqttEncoder"]

_PLAIN = ("temperature", "humidity", "battery", "co2", "water_leak", "occupancy", "illuminance")
_METRICS = frozenset({*_PLAIN, "door_open", "voltage", "pressure"})


def _state(values: dict[str, Value]) -> dict[str, object]:
    out: dict[str, object] = {}
    for metric, value in values.items():
        if metric in _PLAIN:
            out[metric] = value
        elif metric == "door_open":
            out["contact"] = not value
        elif metric == "voltage":
            out["voltage"] = round(float(value) * 1000)
        elif metric == "pressure":
            out["pressure"] = float(value) / 100
    return out


class Zigbee2mqttEncoder:
    family: ClassVar[str] = "zigbee2mqtt"
    source: ClassVar[str] = "zigbee2mqtt"
    per_device_connection: ClassVar[bool] = False
    metrics: ClassVar[frozenset[str]] = _METRICS

    def ref(self, device: SimDevice) -> str:
        return device.id

    def client_id(self, device: SimDevice) -> str:
        return "zigbee2mqtt-bridge"

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        values = {k: v for k, v in obs.values.items() if k in _METRICS}
        if not values:
            return []
        state = _state(values)
        state["linkquality"] = 80 + seq % 100
        state["last_seen"] = iso_utc(obs.at, fraction=False)
        return [
            SimMessage(obs.at, f"zigbee2mqtt/{obs.device.id}", orjson.dumps(state), obs.device.id)
        ]

    def _availability(self, device: SimDevice, at: datetime, state: str) -> SimMessage:
        return SimMessage(
            at,
            f"zigbee2mqtt/{device.id}/availability",
            orjson.dumps({"state": state}),
            device.id,
            kind="availability",
            retain=True,
        )

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        return self._availability(device, at, "online")

    def offline(self, device: SimDevice, at: datetime) -> SimMessage | None:
        return self._availability(device, at, "offline")
