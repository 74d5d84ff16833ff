"""The canonical reading and what a decoder returns.

Metric names and units follow SenML (RFC 8428 / RFC 8798) where one exists; see
``CANONICAL_UNITS``. Times are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["CANONICAL_UNITS", "Decoded", "LatestValue", "Reading", "Value"]

Value = float | bool | str

#: metric -> SenML unit (``None`` for booleans and states).
CANONICAL_UNITS: dict[str, str | None] = {
    "temperature": "Cel",
    "humidity": "%RH",
    "battery": "%EL",
    "voltage": "V",
    "door_open": None,
    "water_leak": None,
    "occupancy": None,
    "in_bed": None,
    "fill_level": "%",
    "co2": "ppm",
    "illuminance": "lx",
    "rssi": "dBm",
    "snr": "dB",
    "armed": None,
    "alarm_button": None,
    "fall": None,
    "online": None,
    "motion": None,
    "pressure": "Pa",
}


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one metric from one device at one time."""

    device_ref: str
    time: datetime
    metric: str
    value: Value
    unit: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "device_ref": self.device_ref,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a decoder makes of one message.

    ``device_ref`` names the device the message is about even when it carries no reading
    (a join event, an availability message), so the registry can still see the device.
    ``dedup_key`` is set where the source can deliver the same uplink twice (LoRaWAN
    gateways: device + frame counter).
    """

    readings: tuple[Reading, ...] = ()
    device_ref: str | None = None
    dedup_key: str | None = None
    family: str = ""
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The most recently received value of one metric (``received_at``: when; ``None`` for
    values stored before receive times were kept, or by a store that keeps none)."""

    metric: str
    value: Value
    unit: str | None
    time: datetime
    received_at: datetime | None = None
