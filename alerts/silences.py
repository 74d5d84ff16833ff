"""Maintenance windows and silences per site or device (optionally one rule).

Decision: a silence holds back **notifications only**. Alerts still fire, change and resolve
and are stored with every transition (the history must show what happened during a
technician's work, and the daily temperature record must not get holes); each held-back
message is in the delivery log as ``suppressed``. When the silence ends and the alert is still
unacknowledged, it is announced then (follow-up), so a silence never hides a live problem.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.errors import AlertNotFound, RuleConfigError
from alerts.models import SilenceRow

__all__ = ["Silence", "SilenceStore"]


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    scope: str
    target: str
    rule: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime

    def covers(self, site_id: str | None, device_id: str, rule: str, at: datetime) -> bool:
        if not (self.starts_at <= at < self.ends_at):
            return False
        if self.rule is not None and self.rule != rule:
            return False
        if self.scope == "site":
            return site_id == self.target
        return device_id == self.target


def _silence(r: SilenceRow) -> Silence:
    return Silence(
        r.id,
        r.scope,
        r.target,
        r.rule,
        r.starts_at,
        r.ends_at,
        r.reason,
        r.created_by,
        r.created_at,
    )


class SilenceStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._cache: list[Silence] | None = None

    def _all(self) -> list[Silence]:
        with self._lock:
            if self._cache is None:
                with self._sessions() as s:
                    self._cache = [_silence(r) for r in s.scalars(select(SilenceRow))]
            return self._cache

    def _changed(self) -> None:
        with self._lock:
            self._cache = None

    def matching(
        self, site_id: str | None, device_id: str, rule: str, at: datetime
    ) -> Silence | None:
        """The silence that holds back messages about this alert at ``at`` (None: none)."""
        return next((x for x in self._all() if x.covers(site_id, device_id, rule, at)), None)

    def list(self, active_at: datetime | None = None) -> list[Silence]:
        items = self._all()
        if active_at is not None:
            items = [x for x in items if x.starts_at <= active_at < x.ends_at]
        return sorted(items, key=lambda x: x.id)

    def get(self, silence_id: int) -> Silence:
        for x in self._all():
            if x.id == silence_id:
                return x
        raise AlertNotFound(f"silence {silence_id} does not exist")

    def create(
        self,
        scope: str,
        target: str,
        starts_at: datetime,
        ends_at: datetime,
        reason: str,
        created_by: str,
        at: datetime,
        rule: str | None = None,
    ) -> Silence:
        if scope not in ("site", "device"):
            raise RuleConfigError("a silence's scope is site or device")
        if ends_at <= starts_at:
            raise RuleConfigError("a silence must end after it starts")
        with self._sessions() as s:
            row = SilenceRow(
                scope=scope,
                target=target,
                rule=rule,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
                created_by=created_by,
                created_at=at,
            )
            s.add(row)
            s.commit()
            out = _silence(row)
        self._changed()
        return out

    def update(self, silence_id: int, ends_at: datetime | None, reason: str | None) -> Silence:
        with self._sessions() as s:
            row = s.get(SilenceRow, silence_id)
            if row is None:
                raise AlertNotFound(f"silence {silence_id} does not exist")
            if ends_at is not None:
                if ends_at <= row.starts_at:
                    raise RuleConfigError("a silence must end after it starts")
                row.ends_at = ends_at
            if reason is not None:
                row.reason = reason
            s.commit()
            out = _silence(row)
        self._changed()
        return out

    def delete(self, silence_id: int) -> None:
        with self._sessions() as s:
            row = s.get(SilenceRow, silence_id)
            if row is None:
                raise AlertNotFound(f"silence {silence_id} does not exist")
            s.delete(row)
            s.commit()
        self._changed()
