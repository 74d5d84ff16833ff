"""Rule evaluation: pure functions of a rule, its state, a value and a time.

A threshold rule has several severities (a shed: warning above 25 °C, critical above 30 °C).
A level fires once the value has stayed beyond it for ``hold_s`` seconds, and a firing level
clears only when the value is back past the threshold by ``hysteresis``; between the two the
alert keeps its state, so a value wobbling around a threshold does not make a storm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "RuleState",
    "ThresholdRule",
    "Transition",
    "evaluate",
    "restored",
    "rule_from_spec",
    "tick",
]

Severity = str


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    name: str
    metric: str
    levels: tuple[tuple[Severity, float], ...]  # from the mildest to the most severe
    direction: Literal["above", "below"] = "above"
    hold_s: float = 0.0
    hysteresis: float = 0.0
    kind: str = "threshold"

    def threshold_of(self, severity: Severity) -> float:
        return dict(self.levels)[severity]


@dataclass(frozen=True, slots=True)
class RuleState:
    firing: Severity | None = None
    # level -> since when the value has been beyond it without a break
    beyond_since: Mapping[Severity, datetime] = field(default_factory=dict)
    last_value: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    kind: Literal["fire", "change", "resolve"]
    severity: Severity | None  # the new severity; None when resolved
    previous: Severity | None
    value: float
    threshold: float
    at: datetime


def rule_from_spec(spec: Mapping[str, Any]) -> ThresholdRule:
    """A rule from the catalogue's or the settings' plain data."""
    if spec.get("kind") != "threshold":
        raise ValueError(f"unsupported rule kind {spec.get('kind')!r}")
    levels = tuple((str(sev), float(limit)) for sev, limit in spec["levels"])
    if not levels:
        raise ValueError(f"rule {spec.get('name')!r} has no levels")
    direction = spec.get("direction", "above")
    if direction not in ("above", "below"):
        raise ValueError(f"rule {spec.get('name')!r}: direction must be above or below")
    return ThresholdRule(
        name=str(spec["name"]),
        metric=str(spec["metric"]),
        levels=levels,
        direction=direction,
        hold_s=float(spec.get("hold_s", 0)),
        hysteresis=float(spec.get("hysteresis", 0)),
    )


def _beyond(rule: ThresholdRule, value: float, limit: float, firing_at_or_above: bool) -> bool:
    # A level that is firing (or below the firing one) holds until the value is back past
    # its limit by the hysteresis; a level not yet reached needs the limit itself.
    margin = rule.hysteresis if firing_at_or_above else 0.0
    if rule.direction == "above":
        return value > limit - margin
    return value < limit + margin


def evaluate(
    rule: ThresholdRule, state: RuleState, value: float, at: datetime
) -> tuple[RuleState, Transition | None]:
    names = [sev for sev, _ in rule.levels]
    firing_rank = names.index(state.firing) if state.firing in names else -1
    since: dict[Severity, datetime] = {}
    for rank, (sev, limit) in enumerate(rule.levels):
        if _beyond(rule, value, limit, rank <= firing_rank):
            since[sev] = state.beyond_since.get(sev, at)
    target: Severity | None = None
    for rank, (sev, _) in enumerate(rule.levels):
        if sev not in since:
            continue
        held = (at - since[sev]).total_seconds() >= rule.hold_s
        if rank <= firing_rank or held:
            target = sev
    new_state = RuleState(firing=target, beyond_since=since, last_value=value)
    if target == state.firing:
        return new_state, None
    if target is None:
        assert state.firing is not None
        threshold = rule.threshold_of(state.firing)
        return new_state, Transition("resolve", None, state.firing, value, threshold, at)
    kind: Literal["fire", "change"] = "fire" if state.firing is None else "change"
    return new_state, Transition(kind, target, state.firing, value, rule.threshold_of(target), at)


def tick(
    rule: ThresholdRule, state: RuleState, now: datetime
) -> tuple[RuleState, Transition | None]:
    """Re-evaluate the last value at ``now``: a hold time can run out with no new reading."""
    if state.last_value is None or not state.beyond_since:
        return state, None
    return evaluate(rule, state, state.last_value, now)


def restored(rule: ThresholdRule, firing: Severity, since: datetime) -> RuleState:
    """The state of a rule whose alert was firing when the platform stopped."""
    names = [sev for sev, _ in rule.levels]
    upto = names[: names.index(firing) + 1] if firing in names else []
    return replace(RuleState(), firing=firing, beyond_since={sev: since for sev in upto})
