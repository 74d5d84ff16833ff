"""What each catalogue type reports on an ordinary day: plausible values, drawn from a seeded
``random.Random`` so a fleet or a scenario is the same on every run.

Every metric of every type in ``devices.catalogue`` has a line here (a test checks that), so
a new sensor type cannot be added without teaching the simulators what it says.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from simulators.model import Value

__all__ = ["METRIC_VALUES", "ordinary_values"]

Draw = Callable[[random.Random], Value]

#: metric -> how an ordinary reading of it is drawn
METRIC_VALUES: dict[str, Draw] = {
    "temperature": lambda r: round(r.gauss(21.0, 1.5), 1),
    "humidity": lambda r: round(r.uniform(30, 55), 1),
    "battery": lambda r: float(r.randint(60, 100)),
    "rssi": lambda r: float(r.randint(-115, -70)),
    "door_open": lambda r: False,
    "water_leak": lambda r: False,
    "in_bed": lambda r: r.random() < 0.8,
    "motion": lambda r: r.random() < 0.1,
    "occupancy": lambda r: r.random() < 0.3,
    "co2": lambda r: float(r.randint(450, 1100)),
    "fill_level": lambda r: float(r.randint(0, 100)),
    "armed": lambda r: r.random() < 0.5,
    "alarm_button": lambda r: False,
    "fall": lambda r: False,
}

#: per type, values that differ from the ordinary draw (a freezer is not at room temperature)
_TYPE_OVERRIDES: dict[str, dict[str, Draw]] = {
    "freezer": {"temperature": lambda r: round(r.gauss(-20.0, 0.5), 1)},
    "technical_shed_temperature": {"temperature": lambda r: round(r.gauss(18.0, 2.0), 1)},
}


def ordinary_values(
    device_type: str, metrics: tuple[str, ...], rng: random.Random
) -> dict[str, Value]:
    """One ordinary report of a device of ``device_type`` carrying ``metrics``."""
    overrides = _TYPE_OVERRIDES.get(device_type, {})
    return {m: overrides.get(m, METRIC_VALUES[m])(rng) for m in metrics}
