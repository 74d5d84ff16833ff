"""Which bed sensor lies under which resident, in SQL (its readings since binding are theirs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from supervision.errors import Invalid, NotFound
from supervision.models import ResidentRow, SensorBindingRow

__all__ = ["SensorBindings"]


class SensorBindings:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def bind(self, resident_id: str, device_id: str, *, actor: str, now: datetime) -> None:
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

    def unbind(self, resident_id: str, device_id: str) -> None:
        with self._sessions() as s:
            row = s.get(SensorBindingRow, device_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(f"device {device_id!r} is not bound to resident {resident_id!r}")
            s.delete(row)
            s.commit()

    def all(self) -> dict[str, str]:
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
        return sorted(self.bound_since(resident_id))
