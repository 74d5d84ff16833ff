"""Tasmota: ``tele/<topic>/SENSOR`` telemetry and ``tele/<topic>/LWT``.

Each Tasmota device keeps its own MQTT connection with the will ``Offline`` (retained) on
``tele/<topic>/LWT`` and publishes ``Online`` there when it connects (tasmota.github.io/docs/MQTT).
Telemetry names the sensor driver (``AM2301``, ``BME280``, ``SCD30``, ``BH1750``) and carries
``Time`` in the device's *local* time without an offset, which is Central European time by
default (Tasmota's default ``TimeStd``/``TimeDst`` rules). Tasmota devices are mains powered
plugs and ESP boards: no battery, and door or leak contacts come as ``Switch1`` states whose
meaning depends on the wiring, so those are not part of this family.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

import orjson

from simulators.model import Observation, SimDevice, SimMessage, Value

__all__ = ["TasmotaEncoder"]

_LOCAL = ZoneInfo("Europe/Stockholm")
_METRICS = frozenset({"temperature", "humidity", "pressure", "co2", "illuminance", "voltage"})


def _sensors(values: dict[str, Value]) -> dict[str, dict[str, object]]:
    """Group the values the way real drivers report them, one driver per metric family."""
    out: dict[str, dict[str, object]] = {}
    if "co2" in values:  # the SCD30 measures CO2, temperature and humidity together
        out["SCD30"] = {"CarbonDioxide": values["co2"]}
        for metric, key in (("temperature", "Temperature"), ("humidity", "Humidity")):
            if metric in values:
                out["SCD30"][key] = values[metric]
    elif "pressure" in values:
        out["BME280"] = {"Pressure": round(float(values["pressure"]) / 100, 2)}
        for metric, key in (("temperature", "Temperature"), ("humidity", "Humidity")):
            if metric in values:
                out["BME280"][key] = values[metric]
    elif "temperature" in values or "humidity" in values:
        out["AM2301"] = {}
        for metric, key in (("temperature", "Temperature"), ("humidity", "Humidity")):
            if metric in values:
                out["AM2301"][key] = values[metric]
    if "illuminance" in values:
        out["BH1750"] = {"Illuminance": values["illuminance"]}
    if "voltage" in values:
        out["ENERGY"] = {"Voltage": values["voltage"]}
    return out


class TasmotaEncoder:
    family: ClassVar[str] = "tasmota"
    source: ClassVar[str] = "tasmota"
    per_device_connection: ClassVar[bool] = True
    metrics: ClassVar[frozenset[str]] = _METRICS

    def ref(self, device: SimDevice) -> str:
        return device.id

    def client_id(self, device: SimDevice) -> str:
        return f"tasmota-{device.id}"

    def uplink(self, obs: Observation, seq: int) -> list[SimMessage]:
        values = {k: v for k, v in obs.values.items() if k in _METRICS}
        if not values:
            return []
        local = obs.at.astimezone(_LOCAL).replace(tzinfo=None, microsecond=0)
        body: dict[str, object] = {"Time": local.isoformat(), **_sensors(values)}
        body["TempUnit"] = "C"
        if "pressure" in values:
            body["PressureUnit"] = "hPa"
        return [
            SimMessage(obs.at, f"tele/{obs.device.id}/SENSOR", orjson.dumps(body), obs.device.id)
        ]

    def online(self, device: SimDevice, at: datetime) -> SimMessage | None:
        return SimMessage(
            at, f"tele/{device.id}/LWT", b"Online", device.id, kind="availability", retain=True
        )

    def offline(self, device: SimDevice, at: datetime) -> SimMessage | None:
        return SimMessage(
            at, f"tele/{device.id}/LWT", b"Offline", device.id, kind="will", retain=True
        )
