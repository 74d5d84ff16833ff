"""One alert as the pages show it, without contradicting itself.

A resolved alert's stored value is the one that ended it (back within the limit), so the page
shows the worst value of the alert's period instead: the highest for a limit from above, the
lowest for one from below, read from the stored readings. Who resolved it (the system, when the
value came back, or a person) and who acknowledged it are two facts, shown as two. One time per
row: the alert's start, or start–end once it is over.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from alerts.messages import EVENT_SV, METRIC_SV, num, what
from alerts.store import Alert
from ingest.store import ReadingStore

__all__ = ["by_urgency", "external_view", "page_what", "worst_value"]

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


_URL = re.compile(r"https?://\S+")
_UNIT = re.compile(r"Enhet: ([^\s.]+)\.")
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
_STATE_RANK = {"active": 0, "acknowledged": 1, "resolved": 2}


def by_urgency(alerts: Iterable[Alert]) -> list[Alert]:
    """Critical before warning, unacknowledged before acknowledged, newest first within."""
    newest_first = sorted(alerts, key=lambda a: a.started_at, reverse=True)
    return sorted(
        newest_first,
        key=lambda a: (_SEVERITY_RANK.get(a.severity, 3), _STATE_RANK.get(a.state, 3)),
    )


def external_view(alert: Alert, unit_names: Mapping[str, str]) -> tuple[str, str, str | None]:
    """An alert raised from outside the rules (night supervision), as a row shows it: the
    care unit by its name where the device name would be, the text without a raw address,
    and the address as a same-site link (the page's own host, whatever the mail said)."""
    units = [t.partition(":")[2] for t in alert.tags if t.startswith("care_unit:")]
    label = ", ".join(unit_names.get(u, u) for u in units) or "–"
    text = alert.message or alert.rule.replace("_", " ")
    found = _URL.search(text)
    link = None
    if found is not None:
        parts = urlsplit(found.group(0))
        if parts.path.startswith("/"):
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            link += f"#{parts.fragment}" if parts.fragment else ""
    text = _URL.sub("", text)
    text = _UNIT.sub(lambda m: f"Enhet: {unit_names.get(m.group(1), m.group(1))}.", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return label, "\n".join(line for line in lines if line), link
