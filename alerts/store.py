"""Alerts and their transitions in SQL: one open alert per (device, rule).

Lifecycle: ``active`` (firing, nobody has acknowledged) → ``acknowledged`` → ``resolved``; an
alert may also go ``active`` → ``resolved`` (resolved while unacknowledged, flagged). A change of
severity updates the open alert; it never opens a second one. Every transition is a row with
its time and actor.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.errors import AlertNotFound, AlertStateError
from alerts.models import (
    AlertRow,
    AlertTransitionRow,
    DeliveryRow,
    OutboxRow,
    RuleStateRow,
    UsedAckLinkRow,
)

if TYPE_CHECKING:
    from access.scope import AlertScope

__all__ = ["Alert", "AlertNotFound", "AlertStateError", "AlertStore", "FireKind"]

AlertState = Literal["active", "acknowledged", "resolved"]
FireKind = Literal["fire", "change"] | None


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    device_id: str
    rule: str
    origin: str
    metric: str
    severity: str
    state: str
    value: float | None
    threshold: float | None
    site_id: str | None
    message: str | None
    tags: tuple[str, ...]
    started_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_while_unacknowledged: bool
    last_notified_at: datetime | None
    reminders_sent: int
    escalation_level: int

    @property
    def source_id(self) -> str:
        return self.device_id


_FIELDS = [f.name for f in fields(Alert)]


def _alert(r: AlertRow) -> Alert:
    values = {name: getattr(r, name) for name in _FIELDS}
    values["tags"] = tuple(r.tags or ())
    return Alert(**values)


def _open_row(s: Session, device_id: str, rule: str) -> AlertRow | None:
    return s.scalars(
        select(AlertRow).where(
            AlertRow.device_id == device_id, AlertRow.rule == rule, AlertRow.state != "resolved"
        )
    ).first()


class AlertStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def erase_sources(self, source_ids: Iterable[str]) -> int:
        """Erase the alerts about these sources, with every copy of their text: history and
        notes, notifications sent or still queued, delivery records, used acknowledge links.
        (The erasure of a person: an alert about them is their data.) Returns how many."""
        sources = sorted(set(source_ids))
        if not sources:
            return 0
        with self._sessions() as s:
            ids = list(s.scalars(select(AlertRow.id).where(AlertRow.device_id.in_(sources))))
            if ids:
                for table in (UsedAckLinkRow, DeliveryRow, OutboxRow, AlertTransitionRow):
                    s.execute(delete(table).where(table.alert_id.in_(ids)))
                s.execute(delete(AlertRow).where(AlertRow.id.in_(ids)))
            s.execute(delete(RuleStateRow).where(RuleStateRow.device_id.in_(sources)))
            s.commit()
            return len(ids)

    def open_alerts(self) -> list[Alert]:
        with self._sessions() as s:
            rows = s.scalars(select(AlertRow).where(AlertRow.state != "resolved"))
            return [_alert(r) for r in rows]

    def find_open(self, device_id: str, rule: str) -> Alert | None:
        with self._sessions() as s:
            row = _open_row(s, device_id, rule)
            return _alert(row) if row is not None else None

    def fire(
        self,
        device_id: str,
        rule: str,
        severity: str,
        at: datetime,
        *,
        metric: str = "",
        value: float | None = None,
        threshold: float | None = None,
        site_id: str | None = None,
        message: str | None = None,
        tags: Iterable[str] = (),
        origin: str = "rule",
        actor: str = "system",
    ) -> tuple[Alert, FireKind]:
        """Open an alert, or update the open one (never a second alert).

        Returns the alert and ``"fire"`` (opened), ``"change"`` (severity changed) or ``None``
        (same severity: value and message refreshed, nothing to tell anyone).
        """
        for _attempt in range(2):
            try:
                return self._fire(
                    device_id,
                    rule,
                    severity,
                    at,
                    metric,
                    value,
                    threshold,
                    site_id,
                    message,
                    tuple(tags),
                    origin,
                    actor,
                )
            except IntegrityError:
                # another writer opened it between our select and insert: update theirs
                continue
        raise AlertStateError(f"could not open an alert for {device_id}/{rule}")

    def _fire(
        self,
        device_id: str,
        rule: str,
        severity: str,
        at: datetime,
        metric: str,
        value: float | None,
        threshold: float | None,
        site_id: str | None,
        message: str | None,
        tags: tuple[str, ...],
        origin: str,
        actor: str,
    ) -> tuple[Alert, FireKind]:
        with self._sessions() as s:
            row = _open_row(s, device_id, rule)
            kind: FireKind
            if row is None:
                kind = "fire"
                row = AlertRow(
                    device_id=device_id,
                    rule=rule,
                    origin=origin,
                    metric=metric,
                    severity=severity,
                    state="active",
                    value=value,
                    threshold=threshold,
                    site_id=site_id,
                    message=message,
                    tags=list(tags),
                    started_at=at,
                    updated_at=at,
                    reminders_sent=0,
                    escalation_level=0,
                )
                s.add(row)
                s.flush()
            else:
                kind = "change" if row.severity != severity else None
                row.severity, row.value, row.threshold = severity, value, threshold
                row.message = message if message is not None else row.message
                if tags:
                    row.tags = list(tags)
                row.updated_at = at
            if kind is not None:
                s.add(
                    AlertTransitionRow(
                        alert_id=row.id,
                        at=at,
                        kind=kind,
                        severity=severity,
                        value=value,
                        actor=actor,
                        note=message,
                    )
                )
            s.commit()
            return _alert(row), kind

    def update_value(self, device_id: str, rule: str, value: float, at: datetime) -> None:
        """The latest value of a firing alert (reminders quote it); no transition."""
        with self._sessions() as s:
            s.execute(
                update(AlertRow)
                .where(
                    AlertRow.device_id == device_id,
                    AlertRow.rule == rule,
                    AlertRow.state != "resolved",
                )
                .values(value=value, updated_at=at)
            )
            s.commit()

    def resolve(
        self,
        device_id: str,
        rule: str,
        value: float | None,
        at: datetime,
        actor: str = "system",
        note: str | None = None,
    ) -> Alert | None:
        with self._sessions() as s:
            row = _open_row(s, device_id, rule)
            if row is None:
                return None
            return self._resolve_row(s, row, value, at, actor, note)

    def resolve_by_id(self, alert_id: int, at: datetime, actor: str, note: str | None) -> Alert:
        with self._sessions() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise AlertNotFound(f"alert {alert_id} does not exist")
            if row.state == "resolved":
                raise AlertStateError(f"alert {alert_id} is resolved already")
            return self._resolve_row(s, row, None, at, actor, note)

    @staticmethod
    def _resolve_row(
        s: Session, row: AlertRow, value: float | None, at: datetime, actor: str, note: str | None
    ) -> Alert:
        row.resolved_while_unacknowledged = row.state == "active"
        row.state, row.resolved_at, row.resolved_by, row.updated_at = "resolved", at, actor, at
        if value is not None:
            row.value = value
        s.add(
            AlertTransitionRow(
                alert_id=row.id, at=at, kind="resolve", value=value, actor=actor, note=note
            )
        )
        s.commit()
        return _alert(row)

    def acknowledge(
        self, alert_id: int, actor: str, at: datetime, note: str | None = None
    ) -> Alert:
        with self._sessions() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise AlertNotFound(f"alert {alert_id} does not exist")
            if row.state != "active":
                raise AlertStateError(f"alert {alert_id} is {row.state}, not active")
            row.state, row.acknowledged_at, row.acknowledged_by = "acknowledged", at, actor
            row.updated_at = at
            s.add(
                AlertTransitionRow(
                    alert_id=row.id, at=at, kind="acknowledge", actor=actor, note=note
                )
            )
            s.commit()
            return _alert(row)

    def note_follow_up(
        self,
        alert_id: int,
        at: datetime,
        kind: Literal["notified", "reminder", "escalate", "suppressed"],
        *,
        escalation_level: int | None = None,
        note: str | None = None,
    ) -> None:
        """Remember that a message went out (or was held back), so a restart does not repeat it."""
        with self._sessions() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                return
            if kind != "suppressed":
                row.last_notified_at = at
            if kind == "reminder":
                row.reminders_sent += 1
            if escalation_level is not None:
                row.escalation_level = escalation_level
            if kind != "notified":
                s.add(
                    AlertTransitionRow(
                        alert_id=alert_id,
                        at=at,
                        kind=kind,
                        severity=row.severity,
                        actor="system",
                        note=note,
                    )
                )
            s.commit()

    def get(self, alert_id: int) -> Alert:
        with self._sessions() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise AlertNotFound(f"alert {alert_id} does not exist")
            return _alert(row)

    def list(
        self,
        state: str | None = None,
        device_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        site_id: str | None = None,
        severity: str | None = None,
        rule: str | None = None,
        origin: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        scope: AlertScope | None = None,
    ) -> list[Alert]:
        """``scope``: only the alerts a user may see (filtered in SQL, so pages stay full)."""
        query = select(AlertRow)
        if scope is not None and not scope.everything:
            query = query.where(scope.clause(AlertRow.site_id, AlertRow.tags))
        for column, wanted in (
            (AlertRow.state, state),
            (AlertRow.device_id, device_id),
            (AlertRow.site_id, site_id),
            (AlertRow.severity, severity),
            (AlertRow.rule, rule),
            (AlertRow.origin, origin),
        ):
            if wanted is not None:
                query = query.where(column == wanted)
        if since is not None:
            query = query.where(AlertRow.started_at >= since)
        if until is not None:
            query = query.where(AlertRow.started_at < until)
        with self._sessions() as s:
            rows = s.scalars(
                query.order_by(AlertRow.updated_at.desc(), AlertRow.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [_alert(r) for r in rows]

    def transitions(self, alert_id: int) -> builtins.list[dict[str, object]]:
        with self._sessions() as s:
            rows = s.scalars(
                select(AlertTransitionRow)
                .where(AlertTransitionRow.alert_id == alert_id)
                .order_by(AlertTransitionRow.id)
            )
            return [
                {
                    "at": r.at,
                    "kind": r.kind,
                    "severity": r.severity,
                    "value": r.value,
                    "actor": r.actor,
                    "note": r.note,
                }
                for r in rows
            ]

    def counts_by_state(self) -> dict[str, int]:
        with self._sessions() as s:
            rows = s.execute(select(AlertRow.state, func.count()).group_by(AlertRow.state))
            return {state: int(n) for state, n in rows}
