"""Alerts and their transitions in SQL: one open alert per (device, rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Float, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from devices.db import Base, UTCDateTime

__all__ = ["Alert", "AlertNotFound", "AlertStateError", "AlertStore", "DeliveryRecord"]

AlertState = Literal["active", "acknowledged", "resolved"]


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_while_unacknowledged: Mapped[bool] = mapped_column(default=False)


class AlertTransitionRow(Base):
    __tablename__ = "alert_transitions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(16), default=None)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text, default=None)


class DeliveryRow(Base):
    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text, default=None)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    device_id: str
    rule: str
    metric: str
    severity: str
    state: str
    value: float
    threshold: float
    started_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    alert_id: int
    at: datetime
    kind: str
    channel: str
    ok: bool
    error: str | None


class AlertNotFound(LookupError):
    pass


class AlertStateError(ValueError):
    pass


def _alert(r: AlertRow) -> Alert:
    return Alert(
        r.id,
        r.device_id,
        r.rule,
        r.metric,
        r.severity,
        r.state,
        r.value,
        r.threshold,
        r.started_at,
        r.updated_at,
        r.acknowledged_at,
        r.acknowledged_by,
        r.resolved_at,
    )


class AlertStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def open_alerts(self) -> list[Alert]:
        with self._sessions() as s:
            rows = s.scalars(select(AlertRow).where(AlertRow.state != "resolved"))
            return [_alert(r) for r in rows]

    def fire(
        self,
        device_id: str,
        rule: str,
        metric: str,
        severity: str,
        value: float,
        threshold: float,
        at: datetime,
    ) -> Alert:
        """Open an alert, or raise the severity of the open one (never a second alert)."""
        with self._sessions() as s:
            row = s.scalars(
                select(AlertRow).where(
                    AlertRow.device_id == device_id,
                    AlertRow.rule == rule,
                    AlertRow.state != "resolved",
                )
            ).first()
            kind = "change"
            if row is None:
                kind = "fire"
                row = AlertRow(
                    device_id=device_id,
                    rule=rule,
                    metric=metric,
                    severity=severity,
                    state="active",
                    value=value,
                    threshold=threshold,
                    started_at=at,
                    updated_at=at,
                )
                s.add(row)
                s.flush()
            else:
                row.severity, row.value, row.threshold, row.updated_at = (
                    severity,
                    value,
                    threshold,
                    at,
                )
            s.add(
                AlertTransitionRow(
                    alert_id=row.id,
                    at=at,
                    kind=kind,
                    severity=severity,
                    value=value,
                    actor="system",
                )
            )
            s.commit()
            return _alert(row)

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
            row = s.scalars(
                select(AlertRow).where(
                    AlertRow.device_id == device_id,
                    AlertRow.rule == rule,
                    AlertRow.state != "resolved",
                )
            ).first()
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
        row.state, row.resolved_at, row.updated_at = "resolved", at, at
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
    ) -> list[Alert]:
        query = select(AlertRow)
        if state is not None:
            query = query.where(AlertRow.state == state)
        if device_id is not None:
            query = query.where(AlertRow.device_id == device_id)
        with self._sessions() as s:
            rows = s.scalars(query.order_by(AlertRow.updated_at.desc()).offset(offset).limit(limit))
            return [_alert(r) for r in rows]

    def transitions(self, alert_id: int) -> list[dict[str, object]]:
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

    def record_delivery(self, rec: DeliveryRecord) -> None:
        with self._sessions() as s:
            s.add(
                DeliveryRow(
                    alert_id=rec.alert_id,
                    at=rec.at,
                    kind=rec.kind,
                    channel=rec.channel,
                    ok=rec.ok,
                    error=rec.error,
                )
            )
            s.commit()

    def deliveries(self, alert_id: int | None = None, limit: int = 100) -> list[DeliveryRecord]:
        query = select(DeliveryRow)
        if alert_id is not None:
            query = query.where(DeliveryRow.alert_id == alert_id)
        with self._sessions() as s:
            rows = s.scalars(query.order_by(DeliveryRow.id.desc()).limit(limit))
            return [
                DeliveryRecord(r.alert_id, r.at, r.kind, r.channel, r.ok, r.error) for r in rows
            ]

    def counts_by_state(self) -> dict[str, int]:
        with self._sessions() as s:
            rows = s.execute(select(AlertRow.state, func.count()).group_by(AlertRow.state))
            return {state: int(n) for state, n in rows}
