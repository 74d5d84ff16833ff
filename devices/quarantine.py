"""Devices the gateway heard but does not know: their last payload and recent readings.

A technician claims such a device (registry issue); until then its readings wait here for
``retention`` (24 h by default) so that claiming ingests them instead of losing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from access.auth import Principal
from access.scope import sees_every_site
from core.db import Base, UTCDateTime

__all__ = [
    "QuarantineEntry",
    "QuarantineStore",
    "QuarantinedReading",
    "UnknownDevice",
    "shown_to",
]

MAX_KEPT_PAYLOAD = 4096


class UnknownDeviceRow(Base):
    __tablename__ = "unknown_devices"

    ref: Mapped[str] = mapped_column(String(200), primary_key=True)
    family: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(500))
    last_payload: Mapped[bytes] = mapped_column(LargeBinary)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    messages: Mapped[int] = mapped_column(Integer, default=0)


class QuarantinedReadingRow(Base):
    __tablename__ = "quarantined_readings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(200), index=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(200))  # JSON
    unit: Mapped[str | None] = mapped_column(String(16), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@dataclass(frozen=True, slots=True)
class UnknownDevice:
    ref: str
    family: str
    topic: str
    last_payload: str
    first_seen: datetime
    last_seen: datetime
    messages: int


def shown_to(user: Principal, unknown: Sequence[UnknownDevice]) -> list[UnknownDevice]:
    """What ``user`` may see of the devices nobody registered yet. They have no site, and
    their payload and topic may come from any site (a care home's bed sensor not yet
    registered, a zigbee2mqtt name with a resident's name in it): those only to admin and
    every-site users. Whoever may claim (``devices.write``) sees the ref, the family and
    when it was heard, enough to find the device on its label; others see none."""
    if sees_every_site(user):
        return list(unknown)
    if not user.may("devices.write"):
        return []
    return [replace(u, topic="", last_payload="") for u in unknown]


@dataclass(frozen=True, slots=True)
class QuarantinedReading:
    ref: str
    time: datetime
    metric: str
    value: float | bool | str
    unit: str | None


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One message's readings of one unknown device, as the gateway heard them."""

    ref: str
    family: str
    topic: str
    payload: bytes
    readings: Sequence[QuarantinedReading]
    received_at: datetime


class QuarantineStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(
        self,
        ref: str,
        family: str,
        topic: str,
        payload: bytes,
        readings: Sequence[QuarantinedReading],
        received_at: datetime,
    ) -> None:
        self.record_many([QuarantineEntry(ref, family, topic, payload, readings, received_at)])

    def record_many(self, entries: Sequence[QuarantineEntry]) -> None:
        """Keep ``entries`` (in the order heard) in one transaction: all or none."""
        with self._sessions() as s:
            rows: dict[str, UnknownDeviceRow] = {}
            for e in entries:
                row = rows.get(e.ref) or s.get(UnknownDeviceRow, e.ref)
                kept = e.payload[:MAX_KEPT_PAYLOAD]
                if row is None:
                    row = UnknownDeviceRow(
                        ref=e.ref,
                        family=e.family,
                        topic=e.topic[:500],
                        last_payload=kept,
                        first_seen=e.received_at,
                        last_seen=e.received_at,
                        messages=1,
                    )
                    s.add(row)
                else:
                    row.family, row.topic, row.last_payload = e.family, e.topic[:500], kept
                    row.last_seen, row.messages = e.received_at, row.messages + 1
                rows[e.ref] = row
                s.add_all(
                    QuarantinedReadingRow(
                        ref=e.ref,
                        time=r.time,
                        metric=r.metric,
                        value=orjson.dumps(r.value).decode(),
                        unit=r.unit,
                        received_at=e.received_at,
                    )
                    for r in e.readings
                )
            s.commit()

    def list_unknown(self) -> list[UnknownDevice]:
        with self._sessions() as s:
            rows = s.scalars(select(UnknownDeviceRow).order_by(UnknownDeviceRow.last_seen.desc()))
            return [
                UnknownDevice(
                    r.ref,
                    r.family,
                    r.topic,
                    r.last_payload.decode("utf-8", "replace"),
                    r.first_seen,
                    r.last_seen,
                    r.messages,
                )
                for r in rows
            ]

    def get_unknown(self, ref: str) -> UnknownDevice | None:
        with self._sessions() as s:
            r = s.get(UnknownDeviceRow, ref)
            if r is None:
                return None
            return UnknownDevice(
                r.ref,
                r.family,
                r.topic,
                r.last_payload.decode("utf-8", "replace"),
                r.first_seen,
                r.last_seen,
                r.messages,
            )

    def take(self, ref: str, since: datetime) -> list[QuarantinedReading]:
        """Remove the device from quarantine, returning its readings received since ``since``."""
        with self._sessions() as s:
            rows = s.scalars(
                select(QuarantinedReadingRow)
                .where(QuarantinedReadingRow.ref == ref, QuarantinedReadingRow.received_at >= since)
                .order_by(QuarantinedReadingRow.time)
            ).all()
            out = [
                QuarantinedReading(r.ref, r.time, r.metric, orjson.loads(r.value), r.unit)
                for r in rows
            ]
            s.execute(delete(QuarantinedReadingRow).where(QuarantinedReadingRow.ref == ref))
            s.execute(delete(UnknownDeviceRow).where(UnknownDeviceRow.ref == ref))
            s.commit()
        return out

    def prune(self, older_than: timedelta, now: datetime) -> int:
        with self._sessions() as s:
            result = s.execute(
                delete(QuarantinedReadingRow).where(
                    QuarantinedReadingRow.received_at < now - older_than
                )
            )
            s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]
