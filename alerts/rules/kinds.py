"""The rule kinds whose value is not a measurement: a state held, after closing, an event.

- ``state_held``: a metric held at a value too long (freezer door open > 10 min).
- ``after_closing``: a value that must not be seen while the site is closed, e.g. a freezer door
  open > 2 min or the premises alarm not armed; fires from the clock at closing time. A site
  without opening hours is never "closed" for this rule (we cannot know); documented.
- ``event``: fires at once (water leak, safety alarm button, fall); clears when the sensor
  says so, or, ``latched``, only when a person resolves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from alerts.messages import detail_for
from alerts.rules.model import HELD, Env, RuleState, Transition, settle, truthy
from devices.reading import Reading
from devices.sites import SiteSchedule, closing_instant, is_open

__all__ = ["AfterClosingRule", "EventRule", "StateHeldRule", "held", "last_closing"]


def held(
    firing: str | None = None,
    value: Any = None,
    since: datetime | None = None,
    last_seen: datetime | None = None,
) -> RuleState:
    """The state of a one-condition kind: the condition has held since ``since``."""
    return RuleState(firing, {HELD: since} if since is not None else {}, value, last_seen)


def _since(state: RuleState, since: datetime | None) -> RuleState:
    return replace(state, beyond_since={HELD: since} if since is not None else {})


class _OneCondition:
    """What the one-condition kinds share: restart, messages. ``metric`` is set by each kind."""

    __slots__ = ()
    name: str
    metric: str | None
    kind: str
    tracks_value: ClassVar[bool] = False
    starts_watching: ClassVar[bool] = False

    @property
    def metrics(self) -> frozenset[str] | None:
        return frozenset((self.metric,)) if self.metric is not None else None

    def due(self, state: RuleState, env: Env) -> float | None:
        return 0.0 if state.since is not None or state.firing is not None else None

    def restored(self, firing: str, since: datetime) -> RuleState:
        return held(firing, None, since)

    def resumed(self, beyond_since: Mapping[str, datetime], value: Any) -> RuleState | None:
        since = beyond_since.get(HELD)
        return held(None, value, since) if since is not None else None

    def describe(self, tr: Transition) -> str | None:
        return detail_for(self.kind, tr.metric or self.metric or "data", tr.since or tr.at,
                          tr.threshold)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StateHeldRule(_OneCondition):
    name: str
    metric: str
    bad: Any = True
    hold_s: float = 600.0
    severity: str = "warning"
    kind: str = "state_held"

    def evaluate(
        self, state: RuleState, reading: Reading, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        value, at = reading.value, reading.time
        if truthy(value) != truthy(self.bad):
            return settle(state, RuleState(None, {}, value, state.last_seen), at, None)
        since = state.since if state.since is not None else at
        return self._hold(state, _since(replace(state, value=value), since), at)

    def tick(
        self, state: RuleState, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        return self._hold(state, state, now)

    def _hold(
        self, before: RuleState, state: RuleState, now: datetime
    ) -> tuple[RuleState, Transition | None]:
        since = state.since
        if since is None or state.firing is not None:
            return settle(before, state, now, self.hold_s)
        is_held = (now - since).total_seconds() >= self.hold_s
        firing = self.severity if is_held else None
        return settle(before, replace(state, firing=firing), now, self.hold_s)


def last_closing(schedule: SiteSchedule, now: datetime) -> datetime | None:
    """The latest closing instant at or before ``now`` within the last few days (pure)."""
    local = now.astimezone(ZoneInfo(schedule.timezone)).date()
    best: datetime | None = None
    for back in range(0, 4):
        end = closing_instant(schedule, local - timedelta(days=back))
        if end is None:
            continue
        end = end.astimezone(UTC)  # PEP 495: a repeated-hour time never == another zone's
        if end <= now and (best is None or end > best):
            best = end
    return best


@dataclass(frozen=True, slots=True)
class AfterClosingRule(_OneCondition):
    name: str
    metric: str
    bad: Any = True
    hold_s: float = 120.0
    severity: str = "critical"
    kind: str = "after_closing"

    def _is_bad(self, value: Any) -> bool:
        return value is not None and truthy(value) == truthy(self.bad)

    def evaluate(
        self, state: RuleState, reading: Reading, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        value, at = reading.value, reading.time
        if not self._is_bad(value):
            return settle(state, RuleState(None, {}, value, state.last_seen), at, None)
        since = state.since if state.since is not None else at
        return self._closed(state, _since(replace(state, value=value), since), at, env)

    def tick(
        self, state: RuleState, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        return self._closed(state, state, now, env)

    def _closed(
        self, before: RuleState, state: RuleState, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        since = state.since
        if since is None or env.schedule is None or is_open(env.schedule, now):
            # open again (or nothing wrong): the after-hours condition no longer holds
            return settle(before, replace(state, firing=None), now, self.hold_s)
        closed = last_closing(env.schedule, now)
        start = max(since, closed) if closed is not None else since
        is_held = (now - start).total_seconds() >= self.hold_s
        firing = self.severity if is_held or state.firing is not None else None
        return settle(before, replace(state, firing=firing), now, self.hold_s)


@dataclass(frozen=True, slots=True)
class EventRule(_OneCondition):
    name: str
    metric: str
    severity: str = "critical"
    latched: bool = False  # True: only a person clears it (a pressed alarm button)
    kind: str = "event"

    def evaluate(
        self, state: RuleState, reading: Reading, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        value, at = reading.value, reading.time
        if truthy(value):
            since = state.since or at
            return settle(state, held(self.severity, value, since), at, None)
        if self.latched:
            return replace(state, value=value), None
        return settle(state, held(None, value), at, None)

    def tick(
        self, state: RuleState, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]:
        return state, None

    def due(self, state: RuleState, env: Env) -> float | None:
        return None  # only a reading (or a person) changes an event


def spec_bool(spec: Mapping[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key, default)
    return value if isinstance(value, bool) else truthy(value)
