"""Conditions building up towards an alert, kept in SQL so a restart resumes them.

A row is a rule's ``RuleState.condition()`` (level, or ``*`` for the one-condition kinds ->
since when) and its last value; each rule kind turns it back into its state (``Rule.resumed``).
The engine decides when to write: only when a condition starts or ends, never per reading."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.models import RuleStateRow

__all__ = ["RuleStateStore"]

Key = tuple[str, str]


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
