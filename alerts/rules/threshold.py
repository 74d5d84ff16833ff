"""The threshold rule: a measurement beyond one of several levels.

A threshold rule has several severities (a shed: warning above 25 °C, critical above 30 °C).
A level fires once the value has stayed beyond it for ``hold_s`` seconds, and a firing level
clears only when the value is back past the threshold by ``hysteresis``; between the two the
alert keeps its state, so a value wobbling around a threshold does not make a storm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from alerts.messages import beyond_since
from alerts.rules.model import Env, Kind, RuleState, Transition
from devices.reading import Reading

__all__ = ["ThresholdRule", "rule_from_spec"]

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
    tracks_value: ClassVar[bool] = True
    starts_watching: ClassVar[bool] = False

    def threshold_of(self, severity: Severity) -> float:
        return dict(self.levels)[severity]

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset((self.metric,))

    def evaluate(
        self, state: RuleState, reading: Reading, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        value = reading.value
        if isinstance(value, str | bool):
            return state, None  # not a measurement: nothing to compare
        return self._step(state, float(value), reading.time)

    def tick(
        self, state: RuleState, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        """Re-evaluate the last value at ``now``: a hold time can run out with no new reading."""
        if state.value is None or not state.beyond_since:
            return state, None
        return self._step(state, state.value, now)

    def due(self, state: RuleState, env: Env) -> float | None:
        return 0.0 if state.beyond_since else None

    def restored(self, firing: Severity, since: datetime) -> RuleState:
        names = [sev for sev, _ in self.levels]
        upto = names[: names.index(firing) + 1] if firing in names else []
        return RuleState(firing=firing, beyond_since={sev: since for sev in upto})

    def resumed(self, beyond_since: Mapping[str, datetime], value: Any) -> RuleState | None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        return RuleState(None, dict(beyond_since), float(value))

    def describe(self, tr: Transition) -> str | None:
        return beyond_since(self.direction, tr.since) if tr.since is not None else None

    def _beyond(self, value: float, limit: float, firing_at_or_above: bool) -> bool:
        # A level that is firing (or below the firing one) holds until the value is back past
        # its limit by the hysteresis; a level not yet reached needs the limit itself.
        margin = self.hysteresis if firing_at_or_above else 0.0
        if self.direction == "above":
            return value > limit - margin
        return value < limit + margin

    def _step(
        self, state: RuleState, value: float, at: datetime
    ) -> tuple[RuleState, Transition | None]:
        names = [sev for sev, _ in self.levels]
        firing_rank = names.index(state.firing) if state.firing in names else -1
        since: dict[Severity, datetime] = {}
        for rank, (sev, limit) in enumerate(self.levels):
            if self._beyond(value, limit, rank <= firing_rank):
                since[sev] = state.beyond_since.get(sev, at)
        target: Severity | None = None
        for rank, (sev, _) in enumerate(self.levels):
            if sev not in since:
                continue
            held = (at - since[sev]).total_seconds() >= self.hold_s
            if rank <= firing_rank or held:
                target = sev
        new_state = RuleState(firing=target, beyond_since=since, value=value)
        if target == state.firing:
            return new_state, None
        if target is None:
            assert state.firing is not None
            threshold = self.threshold_of(state.firing)
            return new_state, Transition("resolve", None, state.firing, value, threshold, at)
        kind: Kind = "fire" if state.firing is None else "change"
        limit = self.threshold_of(target)
        return new_state, Transition(kind, target, state.firing, value, limit, at, since[target])


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
