"""The numbers a rule takes, and the range each must lie in.

Overrides come from people (the API, the TOML, an environment variable in JSON, which Python
reads with NaN and Infinity). A NaN limit never compares true, so the rule silently never
fires; a negative hold fires at once; a hold of 1e308 s overflows the time arithmetic. Each
number is therefore checked here, once, for every way a rule is made: a finite number in the
parameter's range, or a ``ValueError`` naming the parameter and the range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["RANGES", "bounded", "check_params"]

_DAY = 86_400.0
#: parameter -> (lowest, highest) accepted value
RANGES: dict[str, tuple[float, float]] = {
    "hold_s": (0.0, 30 * _DAY),
    "hysteresis": (0.0, 1e6),
    "factor": (1.0, 100.0),
    "interval_s": (1.0, 30 * _DAY),
}
LIMIT_RANGE = (-1e6, 1e6)  # a level's limit, in the metric's unit


def bounded(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{key} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, not {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{key} must be a finite number from {low:g} to {high:g}, not {value!r}")
    return number


def check_params(params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for the first number out of its range (other keys pass)."""
    for key, (low, high) in RANGES.items():
        value = params.get(key)
        if value is not None:
            bounded(key, value, low, high)
    levels = params.get("levels")
    if levels is None:
        return
    if not isinstance(levels, list | tuple) or not levels:
        raise ValueError("levels must be a list of [severity, limit] pairs")
    for level in levels:
        if not isinstance(level, list | tuple) or len(level) != 2:
            raise ValueError(f"levels: each level is [severity, limit], not {level!r}")
        bounded("levels", level[1], *LIMIT_RANGE)
