"""The sensor-type catalogue: one declarative place for every kind of device we support.

A type names its metrics, its expected report interval and its default rules. Rules are plain
data here (the alerts package gives them meaning), so adding a type is data, not code.
Limits come from ``shared/research/DOMAIN.md``: sheds warn at 25 °C and are critical at 30 °C;
freezers must stay at or below -18 °C (EU directive 89/108/EEC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from devices.reading import CANONICAL_UNITS

__all__ = [
    "CARE_WHEN_IN_CARE_UNIT",
    "CATALOGUE",
    "HEALTH_METRICS",
    "METRIC_UNITS",
    "SensorType",
    "get_type",
    "health_only",
    "is_care",
    "is_care_device",
    "register_types",
    "sensor_type_from_dict",
]

#: metric -> SenML unit (RFC 8428/8798; None for booleans and states): what each type reports
#: in. The one table is ingest's (what decoders normalise to); read-only here.
METRIC_UNITS: MappingProxyType[str, str | None] = MappingProxyType(CANONICAL_UNITS)


@dataclass(frozen=True, slots=True)
class SensorType:
    key: str
    name_sv: str
    name_en: str
    metrics: tuple[str, ...]
    expected_interval_s: int
    rules: tuple[MappingProxyType[str, Any], ...] = field(default=())
    care: bool = False  # bound to a resident, not a place: care data, kept apart

    @property
    def units(self) -> dict[str, str | None]:
        return {m: METRIC_UNITS.get(m) for m in self.metrics}

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name_sv": self.name_sv,
            "name_en": self.name_en,
            "metrics": list(self.metrics),
            "units": self.units,
            "expected_interval_s": self.expected_interval_s,
            "care": self.care,
            "rules": [dict(r) for r in self.rules],
        }


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
        (  # issue 5: -18 °C held 30 min (defrost cycles pass), door open 10 min, after closing 2
            _rule(
                kind="threshold",
                name="freezer_too_warm",
                metric="temperature",
                levels=(("warning", -18.0), ("critical", -15.0)),
                direction="above",
                hold_s=1800,
                hysteresis=1.0,
            ),
            _rule(
                kind="state_held",
                name="freezer_door_open_too_long",
                metric="door_open",
                bad=True,
                hold_s=600,
                severity="warning",
            ),
            _rule(
                kind="after_closing",
                name="freezer_door_open_after_closing",
                metric="door_open",
                bad=True,
                hold_s=120,
                severity="critical",
            ),
        ),
    ),
    # Chilled food at most +8 °C (Livsmedelsverket); the kitchen's daily record uses the limit.
    SensorType(
        "fridge",
        "Kyl (dörr + temperatur)",
        "Fridge (door contact + probe)",
        ("temperature", "door_open", "battery"),
        600,
        (  # issue 5
            _rule(
                kind="threshold",
                name="fridge_too_warm",
                metric="temperature",
                levels=(("warning", 8.0),),
                direction="above",
                hold_s=1800,
                hysteresis=0.5,
            ),
            _rule(
                kind="state_held",
                name="fridge_door_open_too_long",
                metric="door_open",
                bad=True,
                hold_s=600,
                severity="warning",
            ),
        ),
    ),
    SensorType(
        "water_leak",
        "Vattenläckage",
        "Water leak",
        ("water_leak", "battery"),
        3600,
        (_rule(kind="event", name="water_leak", metric="water_leak", severity="critical"),),
    ),
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
        "premises_alarm",
        "Larm till-/frånkopplat",
        "Premises alarm armed/unarmed",
        ("armed",),
        3600,
        (  # issue 5: checked by the clock at closing time, even with no reading then
            _rule(
                kind="after_closing",
                name="premises_not_armed_after_closing",
                metric="armed",
                bad=False,
                hold_s=0,
                severity="critical",
            ),
        ),
    ),
    SensorType(
        "safety_alarm",
        "Trygghetslarm",
        "Safety alarm button",
        ("alarm_button", "fall", "battery"),
        300,
        (  # issue 5: latched: a person resolves them, the device's "off" does not
            _rule(
                kind="event",
                name="safety_alarm_pressed",
                metric="alarm_button",
                severity="critical",
                latched=True,
                roles=("night_staff",),
            ),
            _rule(
                kind="event",
                name="fall_detected",
                metric="fall",
                severity="critical",
                latched=True,
                roles=("night_staff",),
            ),
        ),
        care=True,
    ),
)

_BY_KEY: dict[str, SensorType] = {t.key: t for t in _TYPES}
CATALOGUE: MappingProxyType[str, SensorType] = MappingProxyType(_BY_KEY)


class _HasMetric(Protocol):
    @property
    def metric(self) -> str: ...


_V = TypeVar("_V", bound=_HasMetric)

#: what a care device says about itself, not about a person: shown wherever its health is
HEALTH_METRICS = frozenset({"battery", "voltage", "rssi", "snr", "linkquality", "online"})


def is_care(type_key: str) -> bool:
    """Is this a care type (bound to a resident: what it measures is personal data)?"""
    sensor = _BY_KEY.get(type_key)
    return sensor is not None and sensor.care


#: sensor types that are care data once they sit in a resident's home or room: whether
#: someone moves about there at night is as personal as a bed sensor's ``in_bed``
CARE_WHEN_IN_CARE_UNIT = frozenset({"motion", "presence"})


def is_care_device(type_key: str, care_unit_id: str | None) -> bool:
    """Is what this device measures personal data about a resident?"""
    if is_care(type_key):
        return True
    return type_key in CARE_WHEN_IN_CARE_UNIT and care_unit_id is not None


def health_only(values: Iterable[_V]) -> list[_V]:
    """A care device's values as shown outside the night board: its own health, nothing
    it says about a person (any value with a ``metric``)."""
    return [v for v in values if v.metric in HEALTH_METRICS]


def sensor_type_from_dict(spec: dict[str, Any]) -> SensorType:
    """A type from plain data (the ``[[device_types]]`` tables of the settings TOML)."""
    unknown = set(spec) - {f for f in SensorType.__dataclass_fields__}
    if unknown:
        raise ValueError(f"device type: unknown field(s) {', '.join(sorted(unknown))}")
    try:
        metrics = tuple(spec["metrics"])
        sensor = SensorType(
            key=str(spec["key"]),
            name_sv=str(spec.get("name_sv", spec["key"])),
            name_en=str(spec.get("name_en", spec.get("name_sv", spec["key"]))),
            metrics=metrics,
            expected_interval_s=int(spec["expected_interval_s"]),
            rules=tuple(_rule(**r) for r in spec.get("rules", ())),
            care=bool(spec.get("care", False)),
        )
    except KeyError as exc:
        raise ValueError(f"device type {spec.get('key', '?')!r}: {exc.args[0]} is missing") from exc
    bad = [m for m in metrics if m not in METRIC_UNITS]
    if bad or not metrics or sensor.expected_interval_s <= 0:
        raise ValueError(
            f"device type {sensor.key!r}: needs known metrics (unknown: {bad}) "
            "and a positive expected_interval_s"
        )
    return sensor


def register_types(specs: list[dict[str, Any]]) -> list[str]:
    """Add (or redefine) types from data; returns their keys. Built-in rule specs stay."""
    new = [sensor_type_from_dict(s) for s in specs]  # all or nothing
    for sensor in new:
        _BY_KEY[sensor.key] = sensor
    return [s.key for s in new]


def get_type(key: str) -> SensorType | None:
    return CATALOGUE.get(key)
