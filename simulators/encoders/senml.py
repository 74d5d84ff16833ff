"""SenML JSON (RFC 8428) packs on ``senml/<device>``.

One pack per report: the first record carries the base name ``bn`` (``urn:dev:mac:<EUI>:``,
the RFC's own example form), base time ``bt`` (epoch seconds); each record a name, a unit
from the SenML registry (RFC 8428 §12.1, RFC 8798) and ``v`` or ``vb``. A SenML device holds
its own MQTT connection; its will is a pack saying ``online`` false.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import orjson

from simulators.model import Observation, SimDevice, SimMessage, Value, dev_eui

__all__ = ["SenmlEncoder"]

#: canonical metric -> (SenML name, unit or None for a boolean)
_RECORDS: dict[str, tuple[str, str | None]] = {
    "temperature": ("temp", "Cel"),
    "humidity": ("humidity", "%RH"),
    "battery": ("battery", "%EL"),
    "voltage": ("voltage", "V"),
    "co2": ("co2", "ppm"),
    "illuminance": ("illuminance", "lx"),
    "pressure": ("pressure", "Pa"),
    "rssi": ("rssi", "dBm"),
    "fill_level": ("fill_level", "%"),
    "door_open": ("door", None),
    "water_leak": ("leak", None),
    "occupancy": ("occupancy", None),
    "motion": ("motion", None),
    "in_bed": ("in_bed", None),
    "online": ("online", None),
}


def _record(metric: str, value: Value) -> dict[str, object]:
    name, unit = _RECORDS[metric]
    if unit is None:
        return {"n": name, "vb": bool(value)}
    return {"n": name, "u": unit, "v": value}


class SenmlEncoder:
    family: ClassVar[str] = "senml"
    source: ClassVar[str] = "senml"
    per_device_connection: ClassVar[bool] = True
    metrics: ClassVar[frozenset[str]] = frozenset(_RECORDS)

    def ref(self, device: SimDevice) -> str:
        return f"urn:dev:mac:{dev_eui(device.id)}"

    def client_id(self, device: SimDevice) -> str:
        return f"senml-{device.id}"

    def _pack(self, device: SimDevice, at: datetime | None, values: dict[str, Value]) -> bytes:
        records = [_record(m, v) for m, v in values.items()]
        records[0] = {"bn": self.ref(device) + ":", **records[0]}
        if at is not None:
            records[0]["bt"] = at.timestamp()
        return orjson.dumps(records)

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        values = {k: v for k, v in obs.values.items() if k in _RECORDS}
        if not values:
            return []
        body = self._pack(obs.device, obs.at, values)
        return [SimMessage(obs.at, f"senml/{obs.device.id}", body, obs.device.id)]

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        body = self._pack(device, at, {"online": True})
        return SimMessage(at, f"senml/{device.id}", body, device.id, kind="availability")

    def offline(self, device: SimDevice, at: datetime) -> SimMessage | None:
        # A will is fixed at connect time, so it carries no time: "now" when it is published.
        body = self._pack(device, None, {"online": False})
        return SimMessage(at, f"senml/{device.id}", body, device.id, kind="will")
