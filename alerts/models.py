"""The alert tables: alerts, their transitions, the notification outbox and delivery log,
silences, rule overrides and the acknowledge links already used.

One open alert per (device, rule) is enforced by the database itself (a partial unique index on
SQLite and PostgreSQL), not only by the engine: two readings arriving milliseconds apart can
never open two alerts (the ThingsBoard duplicate-alarm trap, TB #15583).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime

__all__ = [
    "AlertRow",
    "AlertTransitionRow",
    "DeliveryRow",
    "OutboxRow",
    "RuleOverrideRow",
    "RuleStateRow",
    "SilenceRow",
    "UsedAckLinkRow",
]


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_per_device_rule",
            "device_id",
            "rule",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # the device id for rule alerts; the caller's source id for external ones (a resident, a
    # check): both are "what the alert is about"
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(String(16), default="rule")  # rule | external
    metric: Mapped[str] = mapped_column(String(64), default="")
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)  # active|acknowledged|resolved
    value: Mapped[float | None] = mapped_column(Float, default=None)
    threshold: Mapped[float | None] = mapped_column(Float, default=None)
    site_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(100), default=None)
    resolved_while_unacknowledged: Mapped[bool] = mapped_column(default=False)
    # follow-up bookkeeping, persisted so a restart neither repeats nor forgets a message
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)


class AlertTransitionRow(Base):
    __tablename__ = "alert_transitions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # fire | change | acknowledge | resolve | reminder | escalate | suppressed
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(16), default=None)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text, default=None)


class OutboxRow(Base):
    """One notification for one channel, kept until delivered (or given up), so an outage of a
    mail server queues messages instead of losing them, across restarts too."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel_key: Mapped[str] = mapped_column(String(32), index=True)  # hash of the URL
    channel: Mapped[str] = mapped_column(String(200))  # apprise's privacy-masked URL
    recipient: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class DeliveryRow(Base):
    """Every attempt to hand a notification to a channel, with its outcome."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str | None] = mapped_column(String(100), default=None)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    # sent | failed | suppressed (a silence held it back) | dropped (given up)
    outcome: Mapped[str] = mapped_column(String(16), default="sent")
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text, default=None)


class SilenceRow(Base):
    """A maintenance window or silence: notifications for a site or a device are held back."""

    __tablename__ = "alert_silences"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # site | device
    target: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str | None] = mapped_column(String(100), default=None)  # None: every rule
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RuleOverrideRow(Base):
    """Rule parameters changed through the API; ``scope`` is ``*``, ``type:X``, ``site:X`` or
    ``device:X`` (the same keys the settings' ``rule_overrides`` take)."""

    __tablename__ = "alert_rule_overrides"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("uq_alert_rule_override", "scope", "rule", unique=True),)


class UsedAckLinkRow(Base):
    """Acknowledge links already used: a link works once."""

    __tablename__ = "alert_ack_links_used"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RuleStateRow(Base):
    """A rule's condition that is building up but has not fired yet (a door open since 21:50,
    a shed above 25 °C since 14:02), so a restart resumes the hold instead of starting it
    again, and a check at closing time still knows the door is open. Written only when the
    condition starts or ends, never per reading."""

    __tablename__ = "alert_rule_state"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(100), primary_key=True)
    since: Mapped[dict[str, str]] = mapped_column(JSON)  # level (or "*") → ISO instant
    value: Mapped[Any] = mapped_column(JSON, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
