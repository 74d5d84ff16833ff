"""The notification outbox and the delivery log in SQL.

A notification becomes one outbox row per channel before anything is sent, so a mail server
that is down, or a restart, delays a message but never loses it. Every attempt is a delivery
row with its outcome; the outbox row keeps the current state (pending, sent, failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.models import AlertRow, DeliveryRow, OutboxRow
from devices.models import GatewayLeaseRow

if TYPE_CHECKING:
    from access.scope import AlertScope

__all__ = ["DeliveryRecord", "LeaseFence", "Outbox", "OutboxItem", "thread_id"]

#: the right-hand side of our message ids (RFC 5322 §3.6.4: id-left "@" id-right)
_ID_DOMAIN = "kommunvakt"

#: (gateway group, holder, fencing token): the lease a sender claims to hold
LeaseFence = tuple[str, str, int]


def thread_id(alert_id: int) -> str:
    """The id every message about one alert refers to, so a mail client threads them."""
    return f"<alert-{alert_id}@{_ID_DOMAIN}>"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    alert_id: int
    kind: str
    channel_key: str
    channel: str
    recipient: str
    title: str
    body: str
    severity: str | None
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    state: str
    last_error: str | None
    sent_at: datetime | None

    @property
    def message_id(self) -> str:
        """Stable per alert and transition (kind and the instant it was dispatched, the same
        on every channel's row): every attempt of this message carries it, a different
        transition (another reminder, the recovery) never does. Delivery is at least once (a
        crash between the send and ``mark_sent`` sends again), so this is how a duplicate is
        recognised: by people (shown in the message), mail clients (threading) and HTTP
        receivers (``Idempotency-Key``)."""
        at = self.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return f"<alert-{self.alert_id}.{self.kind}.{at}@{_ID_DOMAIN}>"


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    alert_id: int
    at: datetime
    kind: str
    channel: str
    ok: bool
    error: str | None
    outcome: str = "sent"
    recipient: str | None = None
    attempt: int = 1
    outbox_id: int | None = None


def _item(r: OutboxRow) -> OutboxItem:
    return OutboxItem(
        r.id,
        r.alert_id,
        r.kind,
        r.channel_key,
        r.channel,
        r.recipient,
        r.title,
        r.body,
        r.severity,
        r.created_at,
        r.next_attempt_at,
        r.attempts,
        r.state,
        r.last_error,
        r.sent_at,
    )


class Outbox:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def enqueue(
        self,
        alert_id: int,
        kind: str,
        channel_key: str,
        channel: str,
        recipient: str,
        title: str,
        body: str,
        severity: str | None,
        at: datetime,
    ) -> int:
        with self._sessions() as s:
            row = OutboxRow(
                alert_id=alert_id,
                kind=kind,
                channel_key=channel_key,
                channel=channel,
                recipient=recipient,
                title=title,
                body=body,
                severity=severity,
                created_at=at,
                next_attempt_at=at,
                attempts=0,
                state="pending",
            )
            s.add(row)
            s.commit()
            return row.id

    def head(self, channel_key: str, fence: LeaseFence | None = None) -> OutboxItem | None:
        """The oldest pending message of a channel: a channel delivers in order.

        With ``fence``, only for the lease's current holder with that token, by the database's
        clock: an instance that lost the lease (or froze past it) gets nothing to send.
        """
        query = select(OutboxRow).where(
            OutboxRow.channel_key == channel_key, OutboxRow.state == "pending"
        )
        if fence is not None:
            group, holder, token = fence
            lease = GatewayLeaseRow
            query = query.where(
                exists().where(
                    lease.group_name == group,
                    lease.holder == holder,
                    lease.token == token,
                    lease.expires_at > func.now(),
                )
            )
        with self._sessions() as s:
            row = s.scalars(query.order_by(OutboxRow.id).limit(1)).first()
            return _item(row) if row is not None else None

    def oldest_pending(self) -> datetime | None:
        """When the oldest message still waiting for delivery was queued (for health)."""
        with self._sessions() as s:
            return s.scalars(
                select(OutboxRow.created_at)
                .where(OutboxRow.state == "pending")
                .order_by(OutboxRow.id)
                .limit(1)
            ).first()

    def mark_sent(self, item_id: int, at: datetime) -> None:
        with self._sessions() as s:
            row = s.get(OutboxRow, item_id)
            if row is not None:
                row.state, row.sent_at, row.attempts, row.last_error = (
                    "sent",
                    at,
                    row.attempts + 1,
                    None,
                )
                s.commit()

    def mark_failed(self, item_id: int, error: str, retry_at: datetime | None) -> int:
        """Count a failed attempt; ``retry_at`` None gives up. Returns the attempts so far."""
        with self._sessions() as s:
            row = s.get(OutboxRow, item_id)
            if row is None:
                return 0
            row.attempts += 1
            row.last_error = error
            if retry_at is None:
                row.state = "failed"
            else:
                row.next_attempt_at = retry_at
            s.commit()
            return row.attempts

    def drop_channels_except(self, keys: set[str], at: datetime) -> int:
        """Give up on messages for channels no longer configured (they would wait forever)."""
        with self._sessions() as s:
            rows = list(
                s.scalars(
                    select(OutboxRow).where(
                        OutboxRow.state == "pending", OutboxRow.channel_key.not_in(keys)
                    )
                )
            )
            for row in rows:
                row.state, row.last_error = "failed", "channel no longer configured"
                s.add(
                    DeliveryRow(
                        alert_id=row.alert_id,
                        outbox_id=row.id,
                        at=at,
                        kind=row.kind,
                        channel=row.channel,
                        recipient=row.recipient,
                        attempt=row.attempts,
                        outcome="dropped",
                        ok=False,
                        error=row.last_error,
                    )
                )
            s.commit()
            return len(rows)

    def items(
        self,
        state: str | None = None,
        alert_id: int | None = None,
        limit: int = 100,
        scope: AlertScope | None = None,
    ) -> list[OutboxItem]:
        """``scope``: only messages about alerts a user may see (filtered in SQL)."""
        query = select(OutboxRow)
        if scope is not None and not scope.everything:
            query = query.join(AlertRow, AlertRow.id == OutboxRow.alert_id).where(
                scope.clause(AlertRow.site_id, AlertRow.tags)
            )
        if state is not None:
            query = query.where(OutboxRow.state == state)
        if alert_id is not None:
            query = query.where(OutboxRow.alert_id == alert_id)
        with self._sessions() as s:
            return [_item(r) for r in s.scalars(query.order_by(OutboxRow.id.desc()).limit(limit))]

    def record(self, rec: DeliveryRecord) -> None:
        with self._sessions() as s:
            s.add(
                DeliveryRow(
                    alert_id=rec.alert_id,
                    outbox_id=rec.outbox_id,
                    at=rec.at,
                    kind=rec.kind,
                    channel=rec.channel,
                    recipient=rec.recipient,
                    attempt=rec.attempt,
                    outcome=rec.outcome,
                    ok=rec.ok,
                    error=rec.error,
                )
            )
            s.commit()

    def deliveries(
        self,
        alert_id: int | None = None,
        limit: int = 100,
        outcome: str | None = None,
        scope: AlertScope | None = None,
    ) -> list[DeliveryRecord]:
        """``scope``: only deliveries of alerts a user may see (filtered in SQL)."""
        query = select(DeliveryRow)
        if scope is not None and not scope.everything:
            query = query.join(AlertRow, AlertRow.id == DeliveryRow.alert_id).where(
                scope.clause(AlertRow.site_id, AlertRow.tags)
            )
        if alert_id is not None:
            query = query.where(DeliveryRow.alert_id == alert_id)
        if outcome is not None:
            query = query.where(DeliveryRow.outcome == outcome)
        with self._sessions() as s:
            rows = s.scalars(query.order_by(DeliveryRow.id.desc()).limit(limit))
            return [
                DeliveryRecord(
                    r.alert_id,
                    r.at,
                    r.kind,
                    r.channel,
                    r.ok,
                    r.error,
                    r.outcome,
                    r.recipient,
                    r.attempt,
                    r.outbox_id,
                )
                for r in rows
            ]

    def prune(self, sent_before: datetime, log_before: datetime) -> int:
        """Forget delivered or abandoned messages (their bodies hold acknowledge links) and
        old delivery-log rows; pending messages are never pruned."""
        with self._sessions() as s:
            gone = s.execute(
                delete(OutboxRow).where(
                    OutboxRow.state != "pending", OutboxRow.created_at < sent_before
                )
            )
            old = s.execute(delete(DeliveryRow).where(DeliveryRow.at < log_before))
            s.commit()
            return sum(int(getattr(r, "rowcount", 0) or 0) for r in (gone, old))

    def counts(self) -> dict[str, dict[str, int]]:
        """Delivery attempts by outcome and outbox rows by state, for ``/metrics``."""
        with self._sessions() as s:
            by_outcome = s.execute(
                select(DeliveryRow.outcome, func.count()).group_by(DeliveryRow.outcome)
            )
            by_state = s.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state))
            return {
                "deliveries": {k: int(n) for k, n in by_outcome},
                "outbox": {k: int(n) for k, n in by_state},
            }
