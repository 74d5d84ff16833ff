"""The ``no_data`` rule: a device silent for ``factor`` × its expected interval, or an
availability/LWT message (metric ``online`` false): offline. Any reading (or only ``metric``'s)
brings it back.

Every device has one, so a reading must cost little here: it only moves ``last_seen`` on, and
``due`` tells the engine's clock the one instant it has to look again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from alerts.messages import detail_for
from alerts.rules.kinds import held
from alerts.rules.model import Env, RuleState, Transition, settle, truthy
from devices.reading import Reading

__all__ = ["NoDataRule"]


@dataclass(frozen=True, slots=True)
class NoDataRule:
    name: str
    factor: float = 3.0
    metric: str | None = None  # None: any reading of the device counts
    interval_s: float | None = None  # None: the device's expected interval
    severity: str = "warning"
    availability_metric: str = "online"
    kind: str = "no_data"
    tracks_value: ClassVar[bool] = False
    starts_watching: ClassVar[bool] = True

    def limit_s(self, env: Env) -> float:
        return self.factor * (self.interval_s or env.expected_interval_s)

    @property
    def metrics(self) -> frozenset[str] | None:
        return None if self.metric is None else frozenset((self.metric, self.availability_metric))

    def evaluate(
        self, state: RuleState, reading: Reading, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        # heard at its own time, but never later than now: a device whose clock runs ahead
        # must not push its silence deadline into the future
        at = min(reading.time, now)
        value = reading.value
        if reading.metric == self.availability_metric:
            if not truthy(value):  # LWT / availability "offline": no need to wait
                st, tr = settle(state, held(self.severity, value, at, state.last_seen), at, None)
                return st, replace(tr, value=None, metric="online") if tr else None
            return settle(state, held(None, value, None, at), at, None)
        last = at if state.last_seen is None else max(state.last_seen, at)
        if state.firing is None:  # the common case: note the time
            return (state if last == state.last_seen else RuleState(last_seen=last)), None
        st, tr = settle(state, held(None, value, None, last), at, None)
        return st, replace(tr, value=None) if tr else None

    def tick(
        self, state: RuleState, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        if state.firing is not None:
            return state, None
        seen = self._seen(state, env)
        if seen is None:
            return replace(state, last_seen=now), None
        limit = self.limit_s(env)
        if (now - seen).total_seconds() < limit:
            return state, None
        st, tr = settle(state, held(self.severity, state.value, seen, state.last_seen), now, limit)
        return st, replace(tr, value=None) if tr else None

    def due(self, state: RuleState, env: Env) -> float | None:
        if state.firing is not None:
            return None
        seen = self._seen(state, env)
        return seen.timestamp() + self.limit_s(env) if seen is not None else None

    @staticmethod
    def _seen(state: RuleState, env: Env) -> datetime | None:
        seen = state.last_seen
        if env.watching_since is not None and (seen is None or seen < env.watching_since):
            seen = env.watching_since  # after a restart, a device gets a full period of grace
        return seen

    def restored(self, firing: str, since: datetime) -> RuleState:
        return held(firing, None, since)

    def resumed(self, beyond_since: Mapping[str, datetime], value: Any) -> RuleState | None:
        return None  # silence is measured from the readings, which the engine sees again

    def describe(self, tr: Transition) -> str | None:
        return detail_for(self.kind, tr.metric or self.metric or "data", tr.since or tr.at,
                          tr.threshold)  # fmt: skip
