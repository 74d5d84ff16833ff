"""Night-check schedules in SQL: which method, at which times, from which day, with their own
grace, re-check and escalation when a resident needs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from supervision.bindings import SensorBindings
from supervision.consents import ConsentBook
from supervision.errors import ConsentMissing, Invalid, NotFound
from supervision.identity import safe_label
from supervision.models import ScheduleRow
from supervision.residents import METHODS, ResidentBook
from supervision.schedule import CheckPlan, parse_times
from supervision.views import SchedulePublic

__all__ = ["ScheduleBook", "ScheduleInfo"]


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

    def public(self) -> SchedulePublic:
        return SchedulePublic(
            id=self.id,
            method=self.method,
            times=[t.strftime("%H:%M") for t in self.plan.times],
            valid_from=self.plan.valid_from.isoformat(),
            valid_to=self.plan.valid_to.isoformat() if self.plan.valid_to else None,
        )


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


class ScheduleBook:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        timezone: str,
        *,
        residents: ResidentBook,
        consents: ConsentBook,
        bindings: SensorBindings,
    ) -> None:
        self._sessions = sessions
        self.timezone = timezone
        self._residents = residents
        self._consents = consents
        self._bindings = bindings

    def add(
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
        if self._consents.gate(resident_id, method) is None:
            self._residents.get(resident_id)  # 404 first
            raise ConsentMissing(
                f"no {method} schedule without recorded consent from the resident and every "
                "cohabiting relative"
                + (
                    " (and never camera for a resident lacking capacity)"
                    if method == "camera"
                    else ""
                )
            )
        if method == "sensor" and not self._bindings.bound_since(resident_id):
            raise Invalid("a sensor schedule needs a bed sensor bound to the resident first")
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
        with self._sessions() as s:
            s.add(row)
            s.commit()
            return _schedule(row, self.timezone)

    def end(self, resident_id: str, schedule_id: int, *, now: datetime) -> None:
        with self._sessions() as s:
            row = s.get(ScheduleRow, schedule_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(f"schedule {schedule_id} of resident {resident_id!r} does not exist")
            if row.ended_at is None:
                row.ended_at = now
                s.commit()

    def of(self, resident_id: str | None = None, *, live: bool = True) -> list[ScheduleInfo]:
        """The schedules of one resident (or everyone's); ``live``: only those not ended."""
        query = select(ScheduleRow)
        if resident_id is not None:
            query = query.where(ScheduleRow.resident_id == resident_id)
        if live:
            query = query.where(ScheduleRow.ended_at.is_(None))
        with self._sessions() as s:
            return [_schedule(r, self.timezone) for r in s.scalars(query.order_by(ScheduleRow.id))]
