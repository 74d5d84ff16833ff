"""Tables of e-supervision: care data, kept apart from building telemetry (``sv_`` prefix).

No table here holds an image, a name or a personal identity number: a resident is a
pseudonymous label and a care unit id. Bed sensors are bound to residents here, not in the
device registry, so the registry and the reading store never learn who lies in which bed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime

__all__ = [
    "SUPERVISION_TABLES",
    "CheckRow",
    "ConsentRow",
    "ResidentRow",
    "ScheduleRow",
    "SensorBindingRow",
    "SuspensionRow",
    "TransitionRow",
]


class ResidentRow(Base):
    __tablename__ = "sv_residents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    care_unit_id: Mapped[str] = mapped_column(String(64), index=True)
    cohabitants: Mapped[int] = mapped_column(default=0)  # cohabiting relatives who must consent
    # DOMAIN §7.11: no camera for a resident who cannot give valid consent (SOU 2025:39 pending)
    lacks_capacity: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))


class ConsentRow(Base):
    __tablename__ = "sv_consents"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(
        ForeignKey("sv_residents.id", ondelete="CASCADE"), index=True
    )
    party: Mapped[str] = mapped_column(String(16))  # resident | cohabitant
    party_label: Mapped[str | None] = mapped_column(String(80), default=None)
    scope: Mapped[list[str]] = mapped_column(JSON)  # methods consented to: camera, sensor
    given_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    withdrawn_by: Mapped[str | None] = mapped_column(String(100), default=None)


class ScheduleRow(Base):
    __tablename__ = "sv_schedules"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(
        ForeignKey("sv_residents.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(16))  # camera | sensor
    times: Mapped[list[str]] = mapped_column(JSON)  # "HH:MM" wall clock, Europe/Stockholm
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    grace_minutes: Mapped[float | None] = mapped_column(default=None)  # None: the setting
    recheck_minutes: Mapped[float | None] = mapped_column(default=None)
    ladder: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    step_minutes: Mapped[float | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class SensorBindingRow(Base):
    __tablename__ = "sv_sensor_bindings"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[str] = mapped_column(
        ForeignKey("sv_residents.id", ondelete="CASCADE"), index=True
    )
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bound_by: Mapped[str] = mapped_column(String(100))


class SuspensionRow(Base):
    __tablename__ = "sv_suspensions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(
        ForeignKey("sv_residents.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(16))  # hospital | travel | other
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CheckRow(Base):
    __tablename__ = "sv_checks"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at", name="uq_sv_checks_schedule_due"),
        Index("ix_sv_checks_unit_night", "care_unit_id", "night"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(
        ForeignKey("sv_residents.id", ondelete="CASCADE"), index=True
    )
    care_unit_id: Mapped[str] = mapped_column(String(64))
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("sv_schedules.id", ondelete="CASCADE"), default=None
    )
    method: Mapped[str] = mapped_column(String(16))
    night: Mapped[date] = mapped_column(Date, index=True)
    planned: Mapped[str] = mapped_column(String(5))  # "02:30" as the plan says it
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    recheck_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    rung: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: closed by a person outside its window ("early" | "late"), and the reason they gave
    timing: Mapped[str | None] = mapped_column(String(8), default=None)
    timing_reason: Mapped[str | None] = mapped_column(Text, default=None)


class TransitionRow(Base):
    __tablename__ = "sv_check_transitions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    check_id: Mapped[int] = mapped_column(
        ForeignKey("sv_checks.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16))  # sensor | camera | manual | system
    rung: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    timing: Mapped[str | None] = mapped_column(String(8), default=None)
    timing_reason: Mapped[str | None] = mapped_column(Text, default=None)


#: every table of ours, parents first
SUPERVISION_TABLES = (
    ResidentRow,
    ConsentRow,
    ScheduleRow,
    SensorBindingRow,
    SuspensionRow,
    CheckRow,
    TransitionRow,
)
