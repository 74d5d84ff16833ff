"""The sensor-type catalogue: one declarative place for every kind of device we support.

A type names its metrics, its expected report interval and its default rules. Rules are plain
data here (the alerts package gives them meaning), so adding a type is data, not code.
Limits come from ``shared/research/DOMAIN.md``: sheds warn at 25 °C and are critical at 30 °C;
freezers must stay at or below -18 °C (EU directive 89/108/EEC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["CATALOGUE", "SensorType", "get_type"]


@dataclass(frozen=True, slots=True)
class SensorType:
    key: str
    name_sv: str
    name_en: str
    metrics: tuple[str, ...]
    expected_interval_s: int
    rules: tuple[MappingProxyType[str, Any], ...] = field(default=())
    care: bool = False  # bound to a resident, not a place: care data, kept apart


def _rule(**spec: Any) -> MappingProxyType[str, Any]:
    return MappingProxyType(spec)


_TYPES = (
    SensorType(
        "technical_shed_temperature",
        "Teknikbod, temperatur",
        "Technical shed temperature",
        ("temperature", "humidity", "battery", "rssi"),
        600,
        (
            _rule(
                kind="threshold",
                name="shed_too_hot",
                metric="temperature",
                levels=(("warning", 25.0), ("critical", 30.0)),
                direction="above",
                hold_s=300,
                hysteresis=1.0,
            ),
        ),
    ),
    SensorType(
        "freezer",
        "Frys (dörr + temperatur)",
        "Freezer (door contact + probe)",
        ("temperature", "door_open", "battery"),
        600,
    ),
    # Chilled food at most +8 °C (Livsmedelsverket); the kitchen's daily record uses the limit.
    SensorType(
        "fridge",
        "Kyl (dörr + temperatur)",
        "Fridge (door contact + probe)",
        ("temperature", "door_open", "battery"),
        600,
    ),
    SensorType("water_leak", "Vattenläckage", "Water leak", ("water_leak", "battery"), 3600),
    SensorType(
        "bed_sensor",
        "Sängsensor (nattillsyn)",
        "Bed/presence sensor (night checks)",
        ("in_bed", "battery"),
        300,
        care=True,
    ),
    SensorType("motion", "Rörelse", "Motion", ("motion", "occupancy", "battery"), 900),
    SensorType(
        "room_climate",
        "Inomhusklimat",
        "Room climate",
        ("temperature", "humidity", "co2", "battery"),
        600,
    ),
    SensorType(
        "waste_bin",
        "Avfallskärl, fyllnadsgrad",
        "Waste bin fill level",
        ("fill_level", "battery"),
        6 * 3600,
    ),
    SensorType(
        "premises_alarm", "Larm till-/frånkopplat", "Premises alarm armed/unarmed", ("armed",), 3600
    ),
    SensorType(
        "safety_alarm",
        "Trygghetslarm",
        "Safety alarm button",
        ("alarm_button", "fall", "battery"),
        300,
        care=True,
    ),
)

CATALOGUE: MappingProxyType[str, SensorType] = MappingProxyType({t.key: t for t in _TYPES})


def get_type(key: str) -> SensorType | None:
    return CATALOGUE.get(key)
