"""Night checks and their transitions in SQL. Every change of status is a stored transition."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from supervision.errors import NotFound
from supervision.machine import ALERTING, OPEN, CheckState, Step
from supervision.models import CheckRow, TransitionRow

__all__ = ["Check", "CheckBook"]


@dataclass(frozen=True, slots=True)
class Check:
    id: int
    resident_id: str
    care_unit_id: str
    schedule_id: int | None
    method: str
    night: date
    planned: str
    due_at: datetime
    status: str
    recheck_at: datetime | None
    escalated_at: datetime | None
    rung: int
    updated_at: datetime
    timing: str | None = None  # closed outside its window: "early" | "late"
    timing_reason: str | None = None

    @property
    def state(self) -> CheckState:
        return CheckState(
            self.status,  # type: ignore[arg-type]
            self.due_at,
            self.recheck_at,
            self.escalated_at,
            self.rung,
        )


def _check(r: CheckRow) -> Check:
    return Check(
        r.id,
        r.resident_id,
        r.care_unit_id,
        r.schedule_id,
        r.method,
        r.night,
        r.planned,
        r.due_at,
        r.status,
        r.recheck_at,
        r.escalated_at,
        r.rung,
        r.updated_at,
        r.timing,
        r.timing_reason,
    )


def _transition(t: TransitionRow) -> dict[str, Any]:
    return {
        "check_id": t.check_id,
        "at": t.at.isoformat(),
        "from": t.from_status,
        "to": t.to_status,
        "actor": t.actor,
        "source": t.source,
        "rung": t.rung,
        "note": t.note,
        "timing": t.timing,
        "timing_reason": t.timing_reason,
    }


class CheckBook:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self,
        *,
        resident_id: str,
        care_unit_id: str,
        schedule_id: int,
        method: str,
        night: date,
        planned: str,
        due_at: datetime,
        now: datetime,
    ) -> Check | None:
        """A new scheduled check; None when it exists already (creating is idempotent)."""
        with self._sessions() as s:
            exists = s.scalars(
                select(CheckRow.id).where(
                    CheckRow.schedule_id == schedule_id, CheckRow.due_at == due_at
                )
            ).first()
            if exists is not None:
                return None
            row = CheckRow(
                resident_id=resident_id,
                care_unit_id=care_unit_id,
                schedule_id=schedule_id,
                method=method,
                night=night,
                planned=planned,
                due_at=due_at,
                status="scheduled",
                updated_at=now,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                s.rollback()
                return None
            s.add(
                TransitionRow(
                    check_id=row.id,
                    at=now,
                    from_status="",
                    to_status="scheduled",
                    actor="system",
                    source="system",
                )
            )
            s.commit()
            return _check(row)

    def keys_of_night(self, night: date) -> set[tuple[int | None, datetime]]:
        """(schedule id, due time) of the checks that exist for ``night``."""
        with self._sessions() as s:
            rows = s.execute(
                select(CheckRow.schedule_id, CheckRow.due_at).where(CheckRow.night == night)
            )
            return {(sid, due) for sid, due in rows}

    def get(self, check_id: int) -> Check:
        with self._sessions() as s:
            row = s.get(CheckRow, check_id)
            if row is None:
                raise NotFound(f"check {check_id} does not exist")
            return _check(row)

    def save(self, check_id: int, state: CheckState, steps: list[Step]) -> Check:
        """Write the new state and its transitions in one transaction."""
        with self._sessions() as s:
            row = s.get(CheckRow, check_id)
            if row is None:
                raise NotFound(f"check {check_id} does not exist")
            row.status = state.status
            row.recheck_at, row.escalated_at, row.rung = (
                state.recheck_at,
                state.escalated_at,
                state.rung,
            )
            row.updated_at = steps[-1].at if steps else row.updated_at
            for st in steps:
                s.add(
                    TransitionRow(
                        check_id=check_id,
                        at=st.at,
                        from_status=st.from_status,
                        to_status=st.to_status,
                        actor=st.actor,
                        source=st.source,
                        rung=st.rung,
                        note=st.note,
                        timing=st.timing,
                        timing_reason=st.timing_reason,
                    )
                )
                if st.timing is not None:
                    row.timing, row.timing_reason = st.timing, st.timing_reason
            s.commit()
            return _check(row)

    def open_checks(self, due_by: datetime | None = None) -> list[Check]:
        """Checks that wait for something; scheduled ones only once due by ``due_by``."""
        query = select(CheckRow).where(CheckRow.status.in_(OPEN))
        if due_by is not None:
            query = query.where(or_(CheckRow.status != "scheduled", CheckRow.due_at <= due_by))
        with self._sessions() as s:
            return [_check(r) for r in s.scalars(query.order_by(CheckRow.due_at))]

    def of_resident(
        self, resident_id: str, *, night: date | None = None, statuses: frozenset[str] | None = None
    ) -> list[Check]:
        query = select(CheckRow).where(CheckRow.resident_id == resident_id)
        if night is not None:
            query = query.where(CheckRow.night == night)
        if statuses is not None:
            query = query.where(CheckRow.status.in_(statuses))
        with self._sessions() as s:
            return [_check(r) for r in s.scalars(query.order_by(CheckRow.due_at))]

    def of_night(self, night: date, care_unit_id: str | None = None) -> list[Check]:
        query = select(CheckRow).where(CheckRow.night == night)
        if care_unit_id is not None:
            query = query.where(CheckRow.care_unit_id == care_unit_id)
        with self._sessions() as s:
            return [_check(r) for r in s.scalars(query.order_by(CheckRow.due_at))]

    def still_open_before(self, night: date, care_unit_id: str | None = None) -> list[Check]:
        """Checks of earlier nights that still need a person (they stay on the board)."""
        query = select(CheckRow).where(CheckRow.night < night, CheckRow.status.in_(ALERTING | OPEN))
        if care_unit_id is not None:
            query = query.where(CheckRow.care_unit_id == care_unit_id)
        with self._sessions() as s:
            return [_check(r) for r in s.scalars(query.order_by(CheckRow.due_at))]

    def transitions(self, check_ids: list[int]) -> list[dict[str, Any]]:
        if not check_ids:
            return []
        with self._sessions() as s:
            rows = s.scalars(
                select(TransitionRow)
                .where(TransitionRow.check_id.in_(check_ids))
                .order_by(TransitionRow.check_id, TransitionRow.id)
            )
            return [_transition(t) for t in rows]

    def counts(self, night: date) -> dict[str, dict[str, int]]:
        """Per care unit, how many checks of ``night`` are in each status (counts only)."""
        out: dict[str, Counter[str]] = {}
        with self._sessions() as s:
            for unit, status in s.execute(
                select(CheckRow.care_unit_id, CheckRow.status).where(CheckRow.night == night)
            ):
                out.setdefault(unit, Counter())[status] += 1
        return {unit: dict(c) for unit, c in sorted(out.items())}

    def prune(self, before_night: date) -> int:
        """The retention job: checks (and, by cascade, transitions) of older nights go."""
        with self._sessions() as s:
            ids = list(s.scalars(select(CheckRow.id).where(CheckRow.night < before_night)))
            if not ids:
                return 0
            s.execute(delete(TransitionRow).where(TransitionRow.check_id.in_(ids)))
            s.execute(delete(CheckRow).where(CheckRow.id.in_(ids)))
            s.commit()
            return len(ids)
