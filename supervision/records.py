"""Reading the care records: the board, a resident's history and export, counts for Grafana,
the audit trail for log review."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from supervision.absences import AbsenceBook
from supervision.bindings import SensorBindings
from supervision.board import BoardRow, build_board
from supervision.checks import CheckBook
from supervision.consents import ConsentBook
from supervision.machine import Policy
from supervision.plans import ScheduleBook
from supervision.residents import METHODS, Resident, ResidentBook
from supervision.schedule import night_of
from supervision.views import (
    CheckPublic,
    HistoryPublic,
    ReadingPublic,
    ResidentDetail,
    ResidentExport,
    ResidentPublic,
    TransitionPublic,
)

__all__ = ["AuditEntries", "CareReadings", "CareRecords", "resident_public"]


class AuditEntries(Protocol):
    def entries(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = ...,
    ) -> Sequence[Any]: ...


class CareReadings(Protocol):
    """The care reading store (``ingest.sqlite_store``): bed sensors' readings, kept apart."""

    def prune(self, before: datetime) -> int: ...

    def erase(self, device_id: str, start: datetime, end: datetime | None = None) -> int: ...

    def readings_of(
        self, device_id: str, start: datetime, end: datetime | None = None
    ) -> Sequence[Any]: ...


def resident_public(r: Resident) -> ResidentPublic:
    return ResidentPublic(
        id=r.id,
        label=r.label,
        care_unit_id=r.care_unit_id,
        cohabitants=r.cohabitants,
        lacks_capacity=r.lacks_capacity,
    )


class CareRecords:
    def __init__(
        self,
        zone: ZoneInfo,
        *,
        residents: ResidentBook,
        consents: ConsentBook,
        schedules: ScheduleBook,
        bindings: SensorBindings,
        absences: AbsenceBook,
        checks: CheckBook,
        policy: Callable[[int | None], Policy],
        audit: AuditEntries,
        care_readings: CareReadings | None,
    ) -> None:
        self.zone = zone
        self._residents = residents
        self._consents = consents
        self._schedules = schedules
        self._bindings = bindings
        self._absences = absences
        self._checks = checks
        self._policy = policy
        self._audit = audit
        self._care_readings = care_readings

    def tonight(self, now: datetime) -> date:
        return night_of(now, self.zone)

    def board(self, unit_id: str, now: datetime) -> list[BoardRow]:
        residents = self._residents.of_unit(unit_id)
        night = self.tonight(now)
        checks = self._checks.still_open_before(night, unit_id) + self._checks.of_night(
            night, unit_id
        )
        policy = self._policy(None)
        return build_board(
            residents,
            checks,
            now,
            grace=policy.grace,
            early=policy.early,
            ladder=policy.ladder,
            zone=self.zone,
        )

    def history(self, resident_id: str) -> HistoryPublic:
        resident = self._residents.get(resident_id)
        checks = self._checks.of_resident(resident_id)
        return HistoryPublic(
            resident=resident_public(resident),
            checks=[CheckPublic.of(c, self.zone) for c in checks],
            transitions=[
                TransitionPublic.model_validate(t)
                for t in self._checks.transitions([c.id for c in checks])
            ],
        )

    def detail(self, resident: Resident) -> ResidentDetail:
        """What the resident page of the API shows: the plan of care, not the history."""
        return ResidentDetail(
            **resident_public(resident).model_dump(),
            consents=self._consents.of_resident(resident.id),
            consent_open={m: self._consents.gate(resident.id, m) is not None for m in METHODS},
            schedules=[s.public() for s in self._schedules.of(resident.id, live=False)],
            sensors=self._bindings.sensors_of(resident.id),
        )

    def counts_per_care_unit(self, now: datetime) -> dict[str, dict[str, int]]:
        """For Grafana (dashboards): tonight's checks per care unit and status, counts only."""
        return self._checks.counts(self.tonight(now))

    def residents_with_units(self, units: Iterable[str] | None) -> list[Resident]:
        residents = self._residents.of_unit()
        if units is None:
            return residents
        allowed = set(units)
        return [r for r in residents if r.care_unit_id in allowed]

    def audit_entries(
        self,
        *,
        resident_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Any]:
        """Per resident: every act on them and every board view that showed them. Per user:
        everything the user did (or was refused)."""
        log_ = self._audit
        if actor is not None:
            return list(log_.entries(actor=actor, since=since, until=until, limit=100_000))
        assert resident_id is not None
        own = log_.entries(
            target_type="resident",
            target_id=resident_id,
            since=since,
            until=until,
            limit=100_000,
        )
        views = [
            e
            for e in log_.entries(
                action="supervision.board.view",
                since=since,
                until=until,
                limit=100_000,
            )
            if e.details and f'"{resident_id}"' in e.details
        ]
        return sorted([*own, *views], key=lambda e: e.id)

    def export_resident(self, resident_id: str) -> ResidentExport:
        """Everything stored about a resident (a request under GDPR art. 15/20)."""
        readings: list[ReadingPublic] = []
        if self._care_readings is not None:  # what the bound sensors said since binding
            for device_id, since in sorted(self._bindings.bound_since(resident_id).items()):
                readings += [
                    ReadingPublic(
                        device_id=r.device_id,
                        metric=r.metric,
                        time=r.time.isoformat(),
                        value=r.value,
                        unit=r.unit,
                    )
                    for r in self._care_readings.readings_of(device_id, since)
                ]
        return ResidentExport(
            **dict(self.history(resident_id)),
            consents=self._consents.of_resident(resident_id),
            schedules=[s.public() for s in self._schedules.of(resident_id, live=False)],
            absences=self._absences.of_resident(resident_id),
            sensors=self._bindings.sensors_of(resident_id),
            sensor_readings=readings,
        )
