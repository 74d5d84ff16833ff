"""Residents, consents, schedules, bed-sensor bindings and absences, in SQL.

The consent gate (SoL 4 kap. 2 c §, DOMAIN §2.1 and §7.11): a schedule runs only while the
resident **and every cohabiting relative** the resident has declared have a recorded,
unwithdrawn consent whose scope covers the schedule's method; camera checks are refused for a
resident flagged as lacking decision capacity. The gate is asked at every step (creating
tonight's checks, evaluating a sensor, taking a camera event), so a withdrawal stops it at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from supervision.errors import ConsentMissing, Invalid, NotFound
from supervision.identity import safe_label, safe_note
from supervision.models import (
    ConsentRow,
    ResidentRow,
    ScheduleRow,
    SensorBindingRow,
    SuspensionRow,
)
from supervision.schedule import CheckPlan, parse_times

__all__ = ["METHODS", "Resident", "ResidentBook", "ScheduleInfo", "care_unit_exists"]

METHODS = ("camera", "sensor")
PARTIES = ("resident", "cohabitant")
ABSENCES = ("hospital", "travel", "other")


@dataclass(frozen=True, slots=True)
class Resident:
    id: str
    label: str
    care_unit_id: str
    cohabitants: int
    lacks_capacity: bool


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    id: int
    resident_id: str
    method: str
    plan: CheckPlan
    created_at: datetime
    grace_minutes: float | None
    recheck_minutes: float | None
    ladder: tuple[str, ...] | None
    step_minutes: float | None
    ended_at: datetime | None = None


def _resident(r: ResidentRow) -> Resident:
    return Resident(r.id, r.label, r.care_unit_id, r.cohabitants, r.lacks_capacity)


def _schedule(r: ScheduleRow, timezone: str) -> ScheduleInfo:
    plan = CheckPlan(parse_times(r.times), r.valid_from, r.valid_to, timezone)
    return ScheduleInfo(
        r.id,
        r.resident_id,
        r.method,
        plan,
        r.created_at,
        r.grace_minutes,
        r.recheck_minutes,
        tuple(r.ladder) if r.ladder else None,
        r.step_minutes,
        r.ended_at,
    )


def care_unit_exists(s: Session, unit_id: str) -> bool | None:
    """True/False when the registry keeps care units (issue 4's table), None when it does not."""
    from devices import models

    row_type = getattr(models, "CareUnitRow", None)
    if row_type is None:
        return None
    return s.get(row_type, unit_id) is not None


def consent_since(
    consents: list[ConsentRow], resident: ResidentRow, method: str
) -> datetime | None:
    """Since when the consent gate is open for ``method`` (None: it is closed)."""
    if method == "camera" and resident.lacks_capacity:
        return None
    live = [c for c in consents if c.withdrawn_at is None and method in c.scope]
    own = [c for c in live if c.party == "resident"]
    others = [c for c in live if c.party == "cohabitant"]
    if not own or len(others) < resident.cohabitants:
        return None
    needed = own[:1] + sorted(others, key=lambda c: c.recorded_at)[: resident.cohabitants]
    return max(c.recorded_at for c in needed)


class ResidentBook:
    def __init__(self, sessions: sessionmaker[Session], timezone: str) -> None:
        self._sessions = sessions
        self.timezone = timezone

    # -- residents ------------------------------------------------------------------------

    def create(
        self,
        label: str,
        care_unit_id: str,
        *,
        actor: str,
        now: datetime,
        cohabitants: int = 0,
        lacks_capacity: bool = False,
    ) -> Resident:
        try:
            clean = safe_label(label)
            unit = safe_label(care_unit_id, field="care unit id")
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
        if not 0 <= cohabitants <= 10:
            raise Invalid("cohabitants must be between 0 and 10")
        row = ResidentRow(
            id=f"r-{secrets.token_hex(5)}",
            label=clean,
            care_unit_id=unit,
            cohabitants=cohabitants,
            lacks_capacity=lacks_capacity,
            created_at=now,
            created_by=actor,
        )
        with self._sessions() as s:
            if care_unit_exists(s, unit) is False:
                raise NotFound(f"care unit {unit!r} does not exist")
            s.add(row)
            s.commit()
        return _resident(row)

    def get(self, resident_id: str) -> Resident:
        with self._sessions() as s:
            row = s.get(ResidentRow, resident_id)
            if row is None:
                raise NotFound(f"resident {resident_id!r} does not exist")
            return _resident(row)

    def find(self, resident_id: str) -> Resident | None:
        with self._sessions() as s:
            row = s.get(ResidentRow, resident_id)
            return _resident(row) if row is not None else None

    def of_unit(self, care_unit_id: str | None = None) -> list[Resident]:
        query = select(ResidentRow).order_by(ResidentRow.care_unit_id, ResidentRow.label)
        if care_unit_id is not None:
            query = query.where(ResidentRow.care_unit_id == care_unit_id)
        with self._sessions() as s:
            return [_resident(r) for r in s.scalars(query)]

    def care_units(self) -> list[str]:
        with self._sessions() as s:
            return sorted(set(s.scalars(select(ResidentRow.care_unit_id))))

    # -- consent --------------------------------------------------------------------------

    def record_consent(
        self,
        resident_id: str,
        *,
        party: str,
        scope: list[str],
        given_on: date,
        actor: str,
        now: datetime,
        party_label: str | None = None,
    ) -> int:
        if party not in PARTIES:
            raise Invalid(f"party must be one of {', '.join(PARTIES)}")
        if not scope or any(m not in METHODS for m in scope):
            raise Invalid(f"scope must list one or more of {', '.join(METHODS)}")
        if given_on > now.date():
            raise Invalid("a consent cannot be given in the future")
        try:
            label = safe_label(party_label, field="party label") if party_label else None
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
        with self._sessions() as s:
            if s.get(ResidentRow, resident_id) is None:
                raise NotFound(f"resident {resident_id!r} does not exist")
            row = ConsentRow(
                resident_id=resident_id,
                party=party,
                party_label=label,
                scope=sorted(set(scope)),
                given_on=given_on,
                recorded_by=actor,
                recorded_at=now,
            )
            s.add(row)
            s.commit()
            return row.id

    def withdraw_consent(
        self, resident_id: str, consent_id: int, *, actor: str, now: datetime
    ) -> None:
        with self._sessions() as s:
            row = s.get(ConsentRow, consent_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(f"consent {consent_id} of resident {resident_id!r} does not exist")
            if row.withdrawn_at is None:
                row.withdrawn_at, row.withdrawn_by = now, actor
                s.commit()

    def consents(self, resident_id: str) -> list[dict[str, Any]]:
        with self._sessions() as s:
            rows = s.scalars(select(ConsentRow).where(ConsentRow.resident_id == resident_id))
            return [
                {
                    "id": c.id,
                    "party": c.party,
                    "party_label": c.party_label,
                    "scope": c.scope,
                    "given_on": c.given_on.isoformat(),
                    "recorded_by": c.recorded_by,
                    "recorded_at": c.recorded_at.isoformat(),
                    "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                    "withdrawn_by": c.withdrawn_by,
                }
                for c in rows
            ]

    def consent_gate(self, resident_id: str, method: str) -> datetime | None:
        with self._sessions() as s:
            resident = s.get(ResidentRow, resident_id)
            if resident is None:
                return None
            rows = list(s.scalars(select(ConsentRow).where(ConsentRow.resident_id == resident_id)))
            return consent_since(rows, resident, method)

    # -- schedules ------------------------------------------------------------------------

    def add_schedule(
        self,
        resident_id: str,
        *,
        method: str,
        times: list[str],
        valid_from: date,
        valid_to: date | None,
        actor: str,
        now: datetime,
        grace_minutes: float | None = None,
        recheck_minutes: float | None = None,
        ladder: list[str] | None = None,
        step_minutes: float | None = None,
    ) -> ScheduleInfo:
        if method not in METHODS:
            raise Invalid(f"method must be one of {', '.join(METHODS)}")
        try:
            parsed = parse_times(times)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
        if valid_to is not None and valid_to < valid_from:
            raise Invalid("valid_to is before valid_from")
        for name, value in (
            ("grace", grace_minutes),
            ("recheck", recheck_minutes),
            ("step", step_minutes),
        ):
            if value is not None and not 0 < value <= 240:
                raise Invalid(f"{name}_minutes must be above 0 and at most 240")
        if ladder is not None:
            try:
                ladder = [safe_label(step, field="escalation step") for step in ladder]
            except ValueError as exc:
                raise Invalid(str(exc)) from exc
        if self.consent_gate(resident_id, method) is None:
            self.get(resident_id)  # 404 first
            raise ConsentMissing(
                f"no {method} schedule without recorded consent from the resident and every "
                "cohabiting relative"
                + (
                    " (and never camera for a resident lacking capacity)"
                    if method == "camera"
                    else ""
                )
            )
        with self._sessions() as s:
            with s.no_autoflush:
                if method == "sensor" and not list(
                    s.scalars(
                        select(SensorBindingRow).where(SensorBindingRow.resident_id == resident_id)
                    )
                ):
                    raise Invalid(
                        "a sensor schedule needs a bed sensor bound to the resident first"
                    )
            row = ScheduleRow(
                resident_id=resident_id,
                method=method,
                times=[t.strftime("%H:%M") for t in parsed],
                valid_from=valid_from,
                valid_to=valid_to,
                grace_minutes=grace_minutes,
                recheck_minutes=recheck_minutes,
                ladder=ladder,
                step_minutes=step_minutes,
                created_by=actor,
                created_at=now,
            )
            s.add(row)
            s.commit()
            return _schedule(row, self.timezone)

    def end_schedule(self, resident_id: str, schedule_id: int, *, now: datetime) -> None:
        with self._sessions() as s:
            row = s.get(ScheduleRow, schedule_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(f"schedule {schedule_id} of resident {resident_id!r} does not exist")
            if row.ended_at is None:
                row.ended_at = now
                s.commit()

    def schedules(self, resident_id: str | None = None, *, live: bool = True) -> list[ScheduleInfo]:
        query = select(ScheduleRow)
        if resident_id is not None:
            query = query.where(ScheduleRow.resident_id == resident_id)
        if live:
            query = query.where(ScheduleRow.ended_at.is_(None))
        with self._sessions() as s:
            return [_schedule(r, self.timezone) for r in s.scalars(query.order_by(ScheduleRow.id))]

    # -- bed sensors ----------------------------------------------------------------------

    def bind_sensor(self, resident_id: str, device_id: str, *, actor: str, now: datetime) -> None:
        with self._sessions() as s:
            if s.get(ResidentRow, resident_id) is None:
                raise NotFound(f"resident {resident_id!r} does not exist")
            existing = s.get(SensorBindingRow, device_id)
            if existing is not None and existing.resident_id != resident_id:
                raise Invalid(f"device {device_id!r} is bound to another resident")
            if existing is None:
                s.add(
                    SensorBindingRow(
                        device_id=device_id, resident_id=resident_id, bound_at=now, bound_by=actor
                    )
                )
                s.commit()

    def unbind_sensor(self, resident_id: str, device_id: str) -> None:
        with self._sessions() as s:
            row = s.get(SensorBindingRow, device_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(f"device {device_id!r} is not bound to resident {resident_id!r}")
            s.delete(row)
            s.commit()

    def bindings(self) -> dict[str, str]:
        """device id → resident id."""
        with self._sessions() as s:
            return {b.device_id: b.resident_id for b in s.scalars(select(SensorBindingRow))}

    def bound_since(self, resident_id: str) -> dict[str, datetime]:
        """device id → when it was bound to this resident (its readings since are theirs)."""
        with self._sessions() as s:
            rows = s.scalars(
                select(SensorBindingRow).where(SensorBindingRow.resident_id == resident_id)
            )
            return {b.device_id: b.bound_at for b in rows}

    def sensors_of(self, resident_id: str) -> list[str]:
        return sorted(d for d, r in self.bindings().items() if r == resident_id)

    # -- absences -------------------------------------------------------------------------

    def suspend(
        self,
        resident_id: str,
        *,
        reason: str,
        starts_at: datetime,
        ends_at: datetime | None,
        actor: str,
        now: datetime,
    ) -> int:
        if reason not in ABSENCES:
            raise Invalid(f"reason must be one of {', '.join(ABSENCES)}")
        if ends_at is not None and ends_at <= starts_at:
            raise Invalid("ends_at must be after starts_at")
        with self._sessions() as s:
            if s.get(ResidentRow, resident_id) is None:
                raise NotFound(f"resident {resident_id!r} does not exist")
            row = SuspensionRow(
                resident_id=resident_id,
                reason=reason,
                starts_at=starts_at,
                ends_at=ends_at,
                recorded_by=actor,
                recorded_at=now,
            )
            s.add(row)
            s.commit()
            return row.id

    def end_suspension(self, resident_id: str, suspension_id: int, *, now: datetime) -> None:
        with self._sessions() as s:
            row = s.get(SuspensionRow, suspension_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(
                    f"absence {suspension_id} of resident {resident_id!r} does not exist"
                )
            if row.ends_at is None or row.ends_at > now:
                row.ends_at = now
                s.commit()

    def suspensions(self, resident_id: str) -> list[tuple[int, str, datetime, datetime | None]]:
        with self._sessions() as s:
            rows = s.scalars(select(SuspensionRow).where(SuspensionRow.resident_id == resident_id))
            return [(r.id, r.reason, r.starts_at, r.ends_at) for r in rows]

    def is_suspended(self, resident_id: str, at: datetime) -> bool:
        return any(
            start <= at and (end is None or at < end)
            for _id, _reason, start, end in self.suspensions(resident_id)
        )


def note_or_invalid(text: str | None) -> str | None:
    try:
        return safe_note(text)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
