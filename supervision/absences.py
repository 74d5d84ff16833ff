"""Absences in SQL (hospital, travel): a resident away has no checks to miss."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from supervision.errors import Invalid, NotFound
from supervision.models import ResidentRow, SuspensionRow
from supervision.views import AbsencePublic

__all__ = ["ABSENCES", "AbsenceBook"]

ABSENCES = ("hospital", "travel", "other")


class AbsenceBook:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(
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

    def end(self, resident_id: str, absence_id: int, *, now: datetime) -> None:
        with self._sessions() as s:
            row = s.get(SuspensionRow, absence_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(f"absence {absence_id} of resident {resident_id!r} does not exist")
            if row.ends_at is None or row.ends_at > now:
                row.ends_at = now
                s.commit()

    def of_resident(self, resident_id: str) -> list[AbsencePublic]:
        with self._sessions() as s:
            rows = s.scalars(select(SuspensionRow).where(SuspensionRow.resident_id == resident_id))
            return [
                AbsencePublic(
                    id=r.id,
                    reason=r.reason,
                    starts_at=r.starts_at.isoformat(),
                    ends_at=r.ends_at.isoformat() if r.ends_at else None,
                )
                for r in rows
            ]

    def is_away(self, resident_id: str, at: datetime) -> bool:
        with self._sessions() as s:
            rows = s.scalars(select(SuspensionRow).where(SuspensionRow.resident_id == resident_id))
            return any(r.starts_at <= at and (r.ends_at is None or at < r.ends_at) for r in rows)

    def prune(self, ended_before: datetime) -> int:
        """Erase absences that ended before ``ended_before`` (retention)."""
        with self._sessions() as s:
            result = s.execute(
                delete(SuspensionRow).where(
                    SuspensionRow.ends_at.is_not(None), SuspensionRow.ends_at < ended_before
                )
            )
            s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]
