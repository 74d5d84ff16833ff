"""Consents in SQL, and the consent gate they open.

The gate (SoL 4 kap. 2 c §, DOMAIN §2.1 and §7.11): a schedule runs only while the resident
**and every cohabiting relative** the resident has declared have a recorded, unwithdrawn
consent whose scope covers the schedule's method; camera checks are refused for a resident
flagged as lacking decision capacity. The gate is asked at every step (creating tonight's
checks, evaluating a sensor, taking a camera event), so a withdrawal stops it at once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from supervision.errors import Invalid, NotFound
from supervision.identity import safe_label
from supervision.models import ConsentRow, ResidentRow
from supervision.residents import METHODS
from supervision.views import ConsentPublic

__all__ = ["PARTIES", "ConsentBook", "consent_since"]

PARTIES = ("resident", "cohabitant")


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


class ConsentBook:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(
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

    def withdraw(self, resident_id: str, consent_id: int, *, actor: str, now: datetime) -> None:
        with self._sessions() as s:
            row = s.get(ConsentRow, consent_id)
            if row is None or row.resident_id != resident_id:
                raise NotFound(f"consent {consent_id} of resident {resident_id!r} does not exist")
            if row.withdrawn_at is None:
                row.withdrawn_at, row.withdrawn_by = now, actor
                s.commit()

    def of_resident(self, resident_id: str) -> list[ConsentPublic]:
        with self._sessions() as s:
            rows = s.scalars(select(ConsentRow).where(ConsentRow.resident_id == resident_id))
            return [
                ConsentPublic(
                    id=c.id,
                    party=c.party,
                    party_label=c.party_label,
                    scope=c.scope,
                    given_on=c.given_on.isoformat(),
                    recorded_by=c.recorded_by,
                    recorded_at=c.recorded_at.isoformat(),
                    withdrawn_at=c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                    withdrawn_by=c.withdrawn_by,
                )
                for c in rows
            ]

    def gate(self, resident_id: str, method: str) -> datetime | None:
        """Since when ``method`` may run for the resident, or None (the gate is closed)."""
        with self._sessions() as s:
            resident = s.get(ResidentRow, resident_id)
            if resident is None:
                return None
            rows = list(s.scalars(select(ConsentRow).where(ConsentRow.resident_id == resident_id)))
            return consent_since(rows, resident, method)
