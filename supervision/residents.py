"""Residents in SQL: who is supervised, in which care unit, with how many cohabitants.

Their consents, schedules, bed sensors and absences each have a book of their own
(``supervision.consents``, ``.plans``, ``.bindings``, ``.absences``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from supervision.errors import Invalid, NotFound
from supervision.identity import safe_label, safe_note
from supervision.models import ResidentRow

__all__ = ["METHODS", "Resident", "ResidentBook", "care_unit_exists", "note_or_invalid"]

METHODS = ("camera", "sensor")


@dataclass(frozen=True, slots=True)
class Resident:
    id: str
    label: str
    care_unit_id: str
    cohabitants: int
    lacks_capacity: bool


def _resident(r: ResidentRow) -> Resident:
    return Resident(r.id, r.label, r.care_unit_id, r.cohabitants, r.lacks_capacity)


def care_unit_exists(s: Session, unit_id: str) -> bool | None:
    """True/False when the registry keeps care units, None when it does not."""
    from devices import models

    row_type = getattr(models, "CareUnitRow", None)
    if row_type is None:
        return None
    return s.get(row_type, unit_id) is not None


class ResidentBook:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

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
        found = self.find(resident_id)
        if found is None:
            raise NotFound(f"resident {resident_id!r} does not exist")
        return found

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

    def delete(self, resident_id: str) -> None:
        """The row and, by cascade, everything stored under it (erasure)."""
        with self._sessions() as s:
            row = s.get(ResidentRow, resident_id)
            if row is None:
                raise NotFound(f"resident {resident_id!r} does not exist")
            s.delete(row)
            s.commit()


def note_or_invalid(text: str | None) -> str | None:
    try:
        return safe_note(text)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
