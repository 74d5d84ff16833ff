"""The one rule model: what every rule kind is, the state it keeps and the transition it returns.

A rule answers what a reading changes (``evaluate``) and what the passing of time changes
(``tick``, called by the engine's clock, so a hold time, a closing time or a silence runs out
even when no reading arrives). Both are pure: ``now`` and the world a rule may know about (an
``Env``) are passed in; no rule reads a clock or does IO.

Every kind keeps the same ``RuleState``. Its ``beyond_since`` is the condition building up
towards an alert: for a threshold, each level the value is beyond and since when; for the other
kinds one entry, ``HELD``. That mapping is also what the engine keeps in SQL across a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from devices.reading import Reading
from devices.sites import SiteSchedule

__all__ = [
    "HELD",
    "Env",
    "Kind",
    "Rule",
    "RuleState",
    "Transition",
    "num",
    "settle",
    "truthy",
]

Kind = Literal["fire", "change", "resolve"]
#: the key of ``beyond_since`` for kinds with one condition (a door held open, a leak)
HELD = "*"


@dataclass(frozen=True, slots=True)
class Env:
    """What a rule may know about the world besides the reading: passed in, never looked up."""

    schedule: SiteSchedule | None = None
    expected_interval_s: float = 600.0
    watching_since: datetime | None = None  # when the engine started (grace after a restart)


@dataclass(frozen=True, slots=True)
class RuleState:
    firing: str | None = None
    # level (or ``HELD``) -> since when the condition has held without a break
    beyond_since: Mapping[str, datetime] = field(default_factory=dict)
    value: Any = None  # the last value of the watched metric
    last_seen: datetime | None = None  # no_data: the last reading that counts

    @property
    def since(self) -> datetime | None:
        """Since when a one-condition kind's condition has held (None: it does not)."""
        return self.beyond_since.get(HELD)

    def condition(self) -> tuple[tuple[str, datetime], ...] | None:
        """What is worth keeping across a restart: a condition building up, not yet fired."""
        if self.firing is not None or not self.beyond_since:
            return None
        return tuple(sorted(self.beyond_since.items()))


@dataclass(frozen=True, slots=True)
class Transition:
    """An alert fires, changes severity or resolves."""

    kind: Kind
    severity: str | None  # the new severity; None when resolved
    previous: str | None
    value: float | None
    threshold: float | None
    at: datetime
    since: datetime | None = None  # since when the condition that fired has held
    metric: str | None = None  # no_data: "online" when an availability message said offline


class Rule(Protocol):
    """A rule kind: ``ThresholdRule``, ``StateHeldRule``, ``AfterClosingRule``, ``EventRule``,
    ``NoDataRule``. ``metric`` is the metric the rule is about (None: the device as a whole)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def metric(self) -> str | None: ...

    #: the alert's stored value follows the readings while it fires (a measurement)
    tracks_value: ClassVar[bool]
    #: the clock looks at the rule from the start, before any reading (a silence)
    starts_watching: ClassVar[bool]

    @property
    def metrics(self) -> frozenset[str] | None:
        """The metrics whose readings go to ``evaluate``; None: every metric."""
        ...

    def evaluate(
        self, state: RuleState, reading: Reading, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]: ...

    def tick(
        self, state: RuleState, now: datetime, env: Env
    ) -> tuple[RuleState, Transition | None]: ...

    def due(self, state: RuleState, env: Env) -> float | None:
        """When the clock must next call ``tick`` (epoch seconds; None: only a reading can
        change anything). Rules with a hold running answer 0: every tick."""
        ...

    def restored(self, firing: str, since: datetime) -> RuleState:
        """The state of a rule whose alert was open when the platform stopped."""
        ...

    def resumed(self, beyond_since: Mapping[str, datetime], value: Any) -> RuleState | None:
        """The state a kept condition resumes as (None: nothing to resume)."""
        ...

    def describe(self, tr: Transition) -> str | None:
        """The sentence about what is wrong, for the alert's message."""
        ...


def num(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes", "open", "leak", "alarm"}
    return bool(value)


def settle(
    state: RuleState, new: RuleState, at: datetime, threshold: float | None
) -> tuple[RuleState, Transition | None]:
    """The transition from ``state`` to ``new``, for the kinds whose value is not a measurement."""
    if new.firing == state.firing:
        return new, None
    if new.firing is None:
        return new, Transition("resolve", None, state.firing, num(new.value), threshold, at)
    kind: Kind = "fire" if state.firing is None else "change"
    return new, Transition(kind, new.firing, state.firing, num(new.value), threshold, at, new.since)
