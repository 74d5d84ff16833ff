"""The rule kinds besides the threshold: pure functions of a rule, its state, a value and ``now``.

Every kind answers two questions: what a reading changes (``evaluate``) and what the passing of
time changes (``tick``, called by the clock every second, so a hold time, a closing time or a
silence runs out even when no reading arrives). Neither reads a clock nor does IO; the site's
opening hours and the device's expected interval come in an ``Env``.

- ``state_held``: a metric held at a value too long (freezer door open > 10 min).
- ``after_closing``: a value that must not be seen while the site is closed, e.g. a freezer door
  open > 2 min or the premises alarm not armed; fires from the clock at closing time. A site
  without opening hours is never "closed" for this rule (we cannot know); documented.
- ``event``: fires at once (water leak, safety alarm button, fall); clears when the sensor
  says so, or, ``latched``, only when a person resolves it.
- ``no_data``: silent for ``factor`` × the expected interval, or an availability/LWT message
  (metric ``online`` false): offline. Any reading (or only ``metric``'s) brings it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from devices.sites import SiteSchedule, closing_instant, is_open

__all__ = [
    "AfterClosingRule",
    "Env",
    "EventRule",
    "HeldState",
    "NoDataRule",
    "StateHeldRule",
    "last_closing",
]

Kind = Literal["fire", "change", "resolve"]


@dataclass(frozen=True, slots=True)
class Env:
    """What a rule may know about the world besides the reading: passed in, never looked up."""

    schedule: SiteSchedule | None = None
    expected_interval_s: float = 600.0
    watching_since: datetime | None = None  # when the engine started (grace after a restart)


@dataclass(frozen=True, slots=True)
class HeldState:
    firing: str | None = None
    value: Any = None  # the last value of the watched metric
    since: datetime | None = None  # since when the value has been "bad" without a break
    last_seen: datetime | None = None  # no_data: the last reading that counts


@dataclass(frozen=True, slots=True)
class Change:
    """A transition of a non-threshold rule (same shape as ``rules.Transition``)."""

    kind: Kind
    severity: str | None
    previous: str | None
    value: float | None
    threshold: float | None
    at: datetime
    since: datetime | None = None
    metric: str | None = None  # no_data: "online" when an availability message said offline


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes", "open", "leak", "alarm"}
    return bool(value)


def _settle(
    state: HeldState, new: HeldState, at: datetime, threshold: float | None
) -> tuple[HeldState, Change | None]:
    if new.firing == state.firing:
        return new, None
    if new.firing is None:
        return new, Change("resolve", None, state.firing, _num(new.value), threshold, at)
    kind: Kind = "fire" if state.firing is None else "change"
    return new, Change(kind, new.firing, state.firing, _num(new.value), threshold, at, new.since)


@dataclass(frozen=True, slots=True)
class StateHeldRule:
    name: str
    metric: str
    bad: Any = True
    hold_s: float = 600.0
    severity: str = "warning"
    kind: str = "state_held"

    def _is_bad(self, value: Any) -> bool:
        return _truthy(value) == _truthy(self.bad)

    def evaluate(
        self, state: HeldState, value: Any, at: datetime, env: Env
    ) -> tuple[HeldState, Change | None]:
        if not self._is_bad(value):
            return _settle(state, replace(state, firing=None, value=value, since=None), at, None)
        since = state.since if state.since is not None else at
        return self.tick(replace(state, value=value, since=since), at, env, _from=state)

    def tick(
        self, state: HeldState, now: datetime, env: Env, _from: HeldState | None = None
    ) -> tuple[HeldState, Change | None]:
        before = _from or state
        if state.since is None or state.firing is not None:
            return _settle(before, state, now, self.hold_s)
        held = (now - state.since).total_seconds() >= self.hold_s
        return _settle(
            before, replace(state, firing=self.severity if held else None), now, self.hold_s
        )


def last_closing(schedule: SiteSchedule, now: datetime) -> datetime | None:
    """The latest closing instant at or before ``now`` within the last few days (pure)."""
    local = now.astimezone(schedule_zone(schedule)).date()
    best: datetime | None = None
    for back in range(0, 4):
        end = closing_instant(schedule, local - timedelta(days=back))
        if end is None:
            continue
        end = end.astimezone(UTC)  # PEP 495: a repeated-hour time never == another zone's
        if end <= now and (best is None or end > best):
            best = end
    return best


def schedule_zone(schedule: SiteSchedule) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(schedule.timezone)


@dataclass(frozen=True, slots=True)
class AfterClosingRule:
    name: str
    metric: str
    bad: Any = True
    hold_s: float = 120.0
    severity: str = "critical"
    kind: str = "after_closing"

    def _is_bad(self, value: Any) -> bool:
        return value is not None and _truthy(value) == _truthy(self.bad)

    def evaluate(
        self, state: HeldState, value: Any, at: datetime, env: Env
    ) -> tuple[HeldState, Change | None]:
        if not self._is_bad(value):
            return _settle(state, replace(state, firing=None, value=value, since=None), at, None)
        since = state.since if state.since is not None else at
        return self.tick(replace(state, value=value, since=since), at, env, _from=state)

    def tick(
        self, state: HeldState, now: datetime, env: Env, _from: HeldState | None = None
    ) -> tuple[HeldState, Change | None]:
        before = _from or state
        if state.since is None or env.schedule is None or is_open(env.schedule, now):
            # open again (or nothing wrong): the after-hours condition no longer holds
            return _settle(before, replace(state, firing=None), now, self.hold_s)
        closed = last_closing(env.schedule, now)
        start = max(state.since, closed) if closed is not None else state.since
        held = (now - start).total_seconds() >= self.hold_s
        firing = self.severity if held or state.firing is not None else None
        return _settle(before, replace(state, firing=firing), now, self.hold_s)


@dataclass(frozen=True, slots=True)
class EventRule:
    name: str
    metric: str
    severity: str = "critical"
    latched: bool = False  # True: only a person clears it (a pressed alarm button)
    kind: str = "event"

    def evaluate(
        self, state: HeldState, value: Any, at: datetime, env: Env
    ) -> tuple[HeldState, Change | None]:
        if _truthy(value):
            since = state.since or at
            return _settle(state, HeldState(self.severity, value, since), at, None)
        if self.latched:
            return replace(state, value=value), None
        return _settle(state, HeldState(None, value, None), at, None)

    def tick(self, state: HeldState, now: datetime, env: Env) -> tuple[HeldState, Change | None]:
        return state, None


@dataclass(frozen=True, slots=True)
class NoDataRule:
    name: str
    factor: float = 3.0
    metric: str | None = None  # None: any reading of the device counts
    interval_s: float | None = None  # None: the device's expected interval
    severity: str = "warning"
    availability_metric: str = "online"
    kind: str = "no_data"

    def limit_s(self, env: Env) -> float:
        return self.factor * (self.interval_s or env.expected_interval_s)

    def counts(self, metric: str) -> bool:
        return metric == self.availability_metric or self.metric in (None, metric)

    def evaluate(
        self, state: HeldState, metric: str, value: Any, at: datetime, env: Env
    ) -> tuple[HeldState, Change | None]:
        if metric == self.availability_metric:
            if not _truthy(value):  # LWT / availability "offline": no need to wait
                st, ch = _settle(
                    state, HeldState(self.severity, value, at, state.last_seen), at, None
                )
                return st, replace(ch, value=None, metric="online") if ch else None
            return _settle(state, HeldState(None, value, None, at), at, None)
        last = at if state.last_seen is None else max(state.last_seen, at)
        st, ch = _settle(state, HeldState(None, value, None, last), at, None)
        return st, replace(ch, value=None) if ch else None

    def tick(self, state: HeldState, now: datetime, env: Env) -> tuple[HeldState, Change | None]:
        if state.firing is not None:
            return state, None
        seen = state.last_seen
        if env.watching_since is not None and (seen is None or seen < env.watching_since):
            seen = env.watching_since  # after a restart, a device gets a full period of grace
        if seen is None:
            return replace(state, last_seen=now), None
        limit = self.limit_s(env)
        if (now - seen).total_seconds() < limit:
            return state, None
        st, ch = _settle(state, replace(state, firing=self.severity, since=seen), now, limit)
        return st, replace(ch, value=None) if ch else None


def spec_bool(spec: Mapping[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key, default)
    return value if isinstance(value, bool) else _truthy(value)
