"""The engine's memory of its rules: one ``Tracked`` per (device, rule).

A ``Tracked`` holds the rule's ``RuleState`` and what the engine needs about it: when the clock
must look at it next (``due``), the condition last kept in SQL, and when a firing alert's value
was last stored. ``Tracking`` keeps them, indexes the ones with a due time (so the clock visits
only those) and writes a condition through ``RuleStateStore`` only when it starts or ends,
never per reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from alerts.rules.model import Env, Rule, RuleState
from alerts.rulestate import RuleStateStore

__all__ = ["Key", "Tracked", "Tracking"]

Key = tuple[str, str]  # (device id, rule name)


@dataclass(slots=True)
class Tracked:
    """One (device, rule): the rule's state and what the engine keeps about it."""

    state: RuleState = field(default_factory=RuleState)
    due: float | None = None  # when the clock must call ``tick`` (epoch s); None: never
    persisted: tuple[tuple[str, datetime], ...] | None = None  # the condition kept in SQL
    value_written: float | None = None  # monotonic time the firing alert's value was stored


class Tracking:
    def __init__(self, rule_states: RuleStateStore | None) -> None:
        self.rule_states = rule_states
        self._tracked: dict[Key, Tracked] = {}
        self._clocked: set[Key] = set()  # the keys whose ``due`` is set

    def __contains__(self, key: Key) -> bool:
        return key in self._tracked

    def get(self, key: Key) -> Tracked | None:
        return self._tracked.get(key)

    def of(self, key: Key) -> Tracked:
        """The key's ``Tracked``, a fresh one the first time."""
        tracked = self._tracked.get(key)
        if tracked is None:
            tracked = self._tracked[key] = Tracked()
        return tracked

    def update(
        self, key: Key, tracked: Tracked, rule: Rule, state: RuleState, env: Env, now: datetime
    ) -> None:
        """The rule's new state: kept, persisted if its condition started or ended, clocked."""
        tracked.state = state
        if self.rule_states is not None:
            condition = state.condition()
            if condition != tracked.persisted:
                tracked.persisted = condition
                if condition is None:
                    self.rule_states.clear(key)
                else:
                    self.rule_states.save(key, dict(condition), state.value, now)
        due = rule.due(state, env)
        if due is None:
            if tracked.due is not None:
                self._clocked.discard(key)
        elif tracked.due is None:
            self._clocked.add(key)
        tracked.due = due

    def resume(self, key: Key, rule: Rule, state: RuleState, env: Env, now: datetime) -> None:
        """A condition read back from SQL: tracked again, not written again."""
        tracked = self._tracked[key] = Tracked(persisted=state.condition())
        self.update(key, tracked, rule, state, env, now)

    def unclock(self, key: Key, tracked: Tracked) -> None:
        tracked.due = None
        self._clocked.discard(key)

    def due(self, now_ts: float) -> Iterator[tuple[Key, Tracked]]:
        """The rules whose due time has come (the caller may update them meanwhile)."""
        for key in list(self._clocked):
            tracked = self._tracked[key]
            if tracked.due is not None and tracked.due <= now_ts:
                yield key, tracked

    def restart(self, key: Key) -> None:
        """Start a rule afresh (a person resolved its alert); a silence keeps its last reading,
        to be timed again at the engine's next scan."""
        old = self._tracked.pop(key, None)
        self._clocked.discard(key)
        if old is not None and old.state.last_seen is not None:
            self._tracked[key] = Tracked(RuleState(last_seen=old.state.last_seen))
