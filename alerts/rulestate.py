"""Conditions building up towards an alert, kept in SQL so a restart resumes them (pure data in,
pure data out; the engine decides when to write: only when a condition starts or ends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.kinds import HeldState, NoDataRule
from alerts.models import RuleStateRow
from alerts.rules import RuleState, ThresholdRule

__all__ = ["RuleStateStore", "condition_of", "resumed"]

Key = tuple[str, str]


def condition_of(state: Any) -> tuple[tuple[str, datetime], ...] | None:
    """What is worth keeping across a restart: a condition building up, not yet fired."""
    if state.firing is not None:
        return None
    if isinstance(state, RuleState):
        return tuple(sorted(state.beyond_since.items())) or None
    return (("*", state.since),) if state.since is not None else None


def resumed(rule: Any, since: dict[str, datetime], value: Any) -> RuleState | HeldState | None:
    """The state a rule resumes from its kept condition (None: nothing to resume)."""
    if isinstance(rule, ThresholdRule):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        return RuleState(None, since, float(value))
    if isinstance(rule, NoDataRule) or "*" not in since:
        return None
    return HeldState(None, value, since["*"])


class RuleStateStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self) -> dict[Key, tuple[dict[str, datetime], Any]]:
        with self._sessions() as s:
            return {
                (r.device_id, r.rule): (
                    {k: datetime.fromisoformat(v) for k, v in r.since.items()},
                    r.value,
                )
                for r in s.scalars(select(RuleStateRow))
            }

    def save(self, key: Key, since: dict[str, datetime], value: Any, at: datetime) -> None:
        with self._sessions() as s:
            s.merge(
                RuleStateRow(
                    device_id=key[0],
                    rule=key[1],
                    since={k: v.isoformat() for k, v in since.items()},
                    value=value if isinstance(value, bool | int | float | str) else None,
                    updated_at=at,
                )
            )
            s.commit()

    def clear(self, key: Key) -> None:
        with self._sessions() as s:
            s.execute(
                delete(RuleStateRow).where(
                    RuleStateRow.device_id == key[0], RuleStateRow.rule == key[1]
                )
            )
            s.commit()
