"""One alert as the pages show it, without contradicting itself.

A resolved alert's stored value is the one that ended it (back within the limit), so the page
shows the worst value of the alert's period instead: the highest for a limit from above, the
lowest for one from below, read from the stored readings. Who resolved it (the system, when the
value came back, or a person) and who acknowledged it are two facts, shown as two. One time per
row: the alert's start, or start–end once it is over.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from alerts.messages import EVENT_SV, METRIC_SV, num, what
from alerts.store import Alert
from ingest.store import ReadingStore

__all__ = ["page_what", "worst_value"]

#: readings a little after the end still belong to the period (the one that ended it)
_END_SLACK = timedelta(seconds=1)


def worst_value(values: Iterable[object], direction: str) -> float | None:
    """The value furthest beyond the limit: the highest above, the lowest below."""
    numbers = [
        float(v)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    if not numbers:
        return None
    return max(numbers) if direction == "above" else min(numbers)


def _direction(rules: Iterable[Any], alert: Alert) -> str | None:
    for entry in rules:
        rule = entry.rule
        if rule.name == alert.rule and isinstance(getattr(rule, "direction", None), str):
            return str(rule.direction)
    return None


def _measured(alert: Alert) -> bool:
    return (
        alert.origin == "rule"
        and alert.value is not None
        and alert.threshold is not None
        and alert.metric not in EVENT_SV
    )


def page_what(alert: Alert, readings: ReadingStore | None, rules: Iterable[Any]) -> str:
    """The sentence in the alert's row; ``rules`` are the device's effective rule entries."""
    if not _measured(alert) or alert.state != "resolved" or alert.resolved_at is None:
        return what(alert)
    name, unit = METRIC_SV.get(alert.metric, (alert.metric.capitalize(), ""))
    limit = f"gräns {num(alert.threshold)}{unit}."
    direction = _direction(rules, alert)
    worst = None
    if readings is not None and direction is not None:
        period = readings.history(
            alert.device_id, alert.metric, alert.started_at, alert.resolved_at + _END_SLACK
        )
        worst = worst_value((r.value for r in period), direction)
    if worst is None or direction is None:
        # the readings are gone (retention) or the rule changed: no value rather than a wrong one
        return f"{name}: {limit}"
    word = "högst" if direction == "above" else "lägst"
    return f"{name} {word} {num(worst)}{unit}, {limit}"
