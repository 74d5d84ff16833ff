"""Reading the care records: the board, a resident's history, counts for Grafana, the audit
trail for log review; and their end: retention, export and erasure on request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from supervision.alerting import AlertSink, alert_key
from supervision.board import BoardRow, build_board
from supervision.checks import Check, CheckBook
from supervision.errors import NotFound
from supervision.machine import Policy
from supervision.models import ResidentRow, SuspensionRow
from supervision.residents import Resident, ResidentBook
from supervision.schedule import night_of
from supervision.settings import SupervisionSettings

__all__ = ["SupervisionRecords", "check_json", "resident_json"]

log = logging.getLogger(__name__)


class SupervisionRecords:
    """Mixed into ``SupervisionService``: everything that reads or ends the records."""

    if TYPE_CHECKING:  # what the service provides
        zone: ZoneInfo
        settings: SupervisionSettings
        residents: ResidentBook
        checks: CheckBook
        audit: Any
        alerts: AlertSink
        care_readings: Any  # the care reading store, or None
        _sessions: sessionmaker[Session]
        _lock: threading.RLock

        def policy(self, schedule_id: int | None) -> Policy: ...

        def refresh(self) -> None: ...

        def _alert_call(self, fn: Any, *args: Any) -> None: ...

    def tonight(self, now: datetime) -> date:
        return night_of(now, self.zone)

    def board(self, unit_id: str, now: datetime) -> list[BoardRow]:
        residents = self.residents.of_unit(unit_id)
        night = self.tonight(now)
        checks = self.checks.still_open_before(night, unit_id) + self.checks.of_night(
            night, unit_id
        )
        policy = self.policy(None)
        return build_board(
            residents,
            checks,
            now,
            grace=policy.grace,
            early=policy.early,
            ladder=policy.ladder,
            zone=self.zone,
        )

    def history(self, resident_id: str) -> dict[str, Any]:
        resident = self.residents.get(resident_id)
        checks = self.checks.of_resident(resident_id)
        return {
            "resident": resident_json(resident),
            "checks": [check_json(c, self.zone) for c in checks],
            "transitions": self.checks.transitions([c.id for c in checks]),
        }

    def counts_per_care_unit(self, now: datetime) -> dict[str, dict[str, int]]:
        """For Grafana (dashboards): tonight's checks per care unit and status, counts only."""
        return self.checks.counts(self.tonight(now))

    def residents_with_units(self, units: Iterable[str] | None) -> list[Resident]:
        residents = self.residents.of_unit()
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
        log_ = self.audit
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

    # -- retention, export, erasure -------------------------------------------------------

    def retention(self, now: datetime) -> dict[str, int]:
        """Erase check records, care devices' readings and audit entries older than their
        retention periods (the readings keep as long as the checks they decided)."""
        st = self.settings
        before = self.tonight(now) - timedelta(days=st.check_retention_days)
        checks = self.checks.prune(before)
        cutoff = now - timedelta(days=st.check_retention_days)
        with self._sessions() as s:
            result = s.execute(
                delete(SuspensionRow).where(
                    SuspensionRow.ends_at.is_not(None), SuspensionRow.ends_at < cutoff
                )
            )
            s.commit()
            absences = int(result.rowcount)  # type: ignore[attr-defined]
        readings = 0
        if self.care_readings is not None:
            readings = int(self.care_readings.prune(cutoff))
        audit = 0
        prune = getattr(self.audit, "prune", None)
        if prune is not None:
            audit = int(prune(timedelta(days=st.audit_retention_days), now))
        if checks or absences or readings or audit:
            log.info(
                "retention: erased %d check(s), %d absence(s), %d care reading(s), "
                "%d audit entries",
                checks,
                absences,
                readings,
                audit,
            )
        return {"checks": checks, "absences": absences, "readings": readings, "audit": audit}

    def export_resident(self, resident_id: str) -> dict[str, Any]:
        """Everything stored about a resident (a request under GDPR art. 15/20)."""
        out = self.history(resident_id)
        out["consents"] = self.residents.consents(resident_id)
        out["schedules"] = [
            {
                "id": s.id,
                "method": s.method,
                "times": [t.strftime("%H:%M") for t in s.plan.times],
                "valid_from": s.plan.valid_from.isoformat(),
                "valid_to": s.plan.valid_to.isoformat() if s.plan.valid_to else None,
            }
            for s in self.residents.schedules(resident_id, live=False)
        ]
        out["absences"] = [
            {
                "id": i,
                "reason": r,
                "starts_at": a.isoformat(),
                "ends_at": b.isoformat() if b else None,
            }
            for i, r, a, b in self.residents.suspensions(resident_id)
        ]
        out["sensors"] = self.residents.sensors_of(resident_id)
        out["sensor_readings"] = []
        if self.care_readings is not None:  # what the bound sensors said since binding
            for device_id, since in sorted(self.residents.bound_since(resident_id).items()):
                out["sensor_readings"] += [
                    {
                        "device_id": r.device_id,
                        "metric": r.metric,
                        "time": r.time.isoformat(),
                        "value": r.value,
                        "unit": r.unit,
                    }
                    for r in self.care_readings.readings_of(device_id, since)
                ]
        return out

    def erase_resident(self, resident_id: str, actor: str, now: datetime) -> None:
        """Erase a resident and all their care data (GDPR art. 17); the audit log keeps ids.

        Every copy goes: the resident, consents, schedules, absences, checks and their notes
        (cascade), the alerts raised for their checks with their history, notes and every
        notification about them, sent or queued (no "resolved" message is sent: it would carry
        the label once more), and the readings of a sensor bound to them, from the time it
        was bound (a sensor unbound earlier is not known to be theirs any more: its readings
        go with retention). The audit log keeps the pseudonymous id, which nothing links to a
        label any more (docs/night-supervision.md).
        """
        bound = self.residents.bound_since(resident_id)
        with self._lock:
            keys = [alert_key(c.id) for c in self.checks.of_resident(resident_id)]
            # first, and not swallowed: if it fails the resident is still there to erase again
            self.alerts.erase_alerts(keys)
            with self._sessions() as s:
                row = s.get(ResidentRow, resident_id)
                if row is None:
                    raise NotFound(f"resident {resident_id!r} does not exist")
                s.delete(row)
                s.commit()
            self.refresh()
            if self.care_readings is not None:
                # after the binding went: whatever the sensor says from now on is nobody's
                for device_id, since in bound.items():
                    self.care_readings.erase(device_id, since)


def resident_json(r: Resident) -> dict[str, Any]:
    return {
        "id": r.id,
        "label": r.label,
        "care_unit_id": r.care_unit_id,
        "cohabitants": r.cohabitants,
        "lacks_capacity": r.lacks_capacity,
    }


def check_json(c: Check, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": c.id,
        "resident_id": c.resident_id,
        "care_unit_id": c.care_unit_id,
        "method": c.method,
        "night": c.night.isoformat(),
        "planned": c.planned,
        "due_at": c.due_at.isoformat(),
        "due_local": c.due_at.astimezone(zone).isoformat(),
        "status": c.status,
        "recheck_at": c.recheck_at.isoformat() if c.recheck_at else None,
        "rung": c.rung,
        "updated_at": c.updated_at.isoformat(),
        "timing": c.timing,
        "timing_reason": c.timing_reason,
    }
