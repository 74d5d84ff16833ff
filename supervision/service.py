"""The one entry point of e-supervision for the platform, the routes and the pages: it builds
the small services, each owning one aggregate, and passes each its collaborators.

    residents, consents, schedules, bindings, absences, checks   SQL books, one table each
    sensors   (``bedsensors``)     what the monitored bed sensors last said (pipeline thread)
    night     (``nightchecks``)    tonight's checks and their status machine (the check lock)
    camera    (``camera_checks``)  camera looks matched to checks (camera inbox thread)
    records   (``records``)        board, history, export, counts, audit trail
    erasure, retention             the end of the records

Inputs arrive on four threads: the clock (``tick``), the pipeline (``on_readings``), the camera
inbox (``on_camera_check``) and the API. How they are ordered: ``supervision.nightchecks``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from supervision.absences import AbsenceBook
from supervision.access import Gate
from supervision.alerting import AlertSink, LogSink
from supervision.bedsensors import BedSensors, MonitoredSensors
from supervision.bindings import SensorBindings
from supervision.board import BoardRow
from supervision.camera import CameraCheck, CameraInbox
from supervision.camera_checks import AuditLog, CameraChecks
from supervision.changes import BoardChanges
from supervision.check_alerts import CheckAlerts
from supervision.checks import CheckBook
from supervision.consents import ConsentBook
from supervision.erasure import Erasure
from supervision.nightchecks import NightChecks
from supervision.plans import ScheduleBook
from supervision.records import AuditEntries, CareReadings, CareRecords
from supervision.residents import ResidentBook
from supervision.retention import PrunableAudit, Retention
from supervision.settings import SupervisionSettings
from supervision.stats import SupervisionStats

__all__ = ["SupervisionService", "SupervisionStats"]


class _Registry(Protocol):
    def info(self, device_id: str) -> Any: ...


class _Audit(AuditLog, AuditEntries, PrunableAudit, Protocol):
    """The audit log: written by every act, read by the log review, pruned by retention."""


class SupervisionService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: SupervisionSettings,
        *,
        registry: _Registry,
        audit: _Audit,
        alerts: AlertSink | None = None,
        latest: Callable[[str], Sequence[Any]] | None = None,
        care_readings: CareReadings | None = None,
        base_url: str = "http://127.0.0.1:8000",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        changes: BoardChanges | None = None,
        monitored: MonitoredSensors | None = None,
    ) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.registry = registry
        self.audit = audit
        self.stats = SupervisionStats()
        self.gate = Gate(audit, settings.view_audit_interval_s)
        alert_sink: AlertSink = alerts or LogSink()

        self.residents = ResidentBook(sessions)
        self.consents = ConsentBook(sessions)
        self.bindings = SensorBindings(sessions)
        self.absences = AbsenceBook(sessions)
        self.schedules = ScheduleBook(
            sessions,
            settings.timezone,
            residents=self.residents,
            consents=self.consents,
            bindings=self.bindings,
        )
        self.checks = CheckBook(sessions)
        self.sensors = BedSensors(
            registry,
            offline_factor=settings.offline_factor,
            clock=clock,
            latest=latest,
            monitored=monitored,
        )
        self.night = NightChecks(
            settings,
            checks=self.checks,
            residents=self.residents,
            consents=self.consents,
            schedules=self.schedules,
            bindings=self.bindings,
            absences=self.absences,
            sensors=self.sensors,
            alerts=CheckAlerts(
                alert_sink,
                residents=self.residents,
                zone=self.zone,
                base_url=base_url,
                stats=self.stats,
            ),
            stats=self.stats,
            changes=changes,
        )
        self.camera = CameraChecks(
            self.night,
            residents=self.residents,
            consents=self.consents,
            checks=self.checks,
            audit=audit,
            stats=self.stats,
            early=timedelta(minutes=settings.early_minutes),
            clock=clock,
        )
        self.camera_inbox = CameraInbox(self.camera.on_camera_check)
        self.records = CareRecords(
            self.zone,
            residents=self.residents,
            consents=self.consents,
            schedules=self.schedules,
            bindings=self.bindings,
            absences=self.absences,
            checks=self.checks,
            policy=self.night.policy,
            audit=audit,
            care_readings=care_readings,
        )
        self.erasure = Erasure(
            self.night,
            residents=self.residents,
            bindings=self.bindings,
            checks=self.checks,
            alerts=alert_sink,
            care_readings=care_readings,
        )
        self._retention = Retention(
            settings,
            checks=self.checks,
            absences=self.absences,
            audit=audit,
            care_readings=care_readings,
            lock=self.night.lock,
        )

    # -- the entry points of the platform's threads ----------------------------------------

    def tick(self, now: datetime) -> None:
        """Platform ticker: tonight's checks, the sensors when due, the windows, retention."""
        self.night.tick(now)
        self._retention.tick(now)

    def on_readings(self, batch: Iterable[tuple[Any, Any]]) -> None:
        """Pipeline listener (``supervision.bedsensors``)."""
        self.sensors.on_readings(batch)

    def may_store(self, device_id: str, metric: str) -> bool:
        """The care store's filter (``supervision.bedsensors``)."""
        return self.sensors.may_store(device_id, metric)

    def on_camera_check(self, event: CameraCheck) -> None:
        """The camera inbox's handler (``supervision.camera_checks``)."""
        self.camera.on_camera_check(event)

    # -- asked by the pages, the routes and the wiring --------------------------------------

    @property
    def version(self) -> int:
        """Moves on every change a board shows (the live board re-renders when it moves)."""
        return self.night.changes.version

    def refresh(self) -> None:
        """After any change of plan, consent or binding."""
        self.night.refresh()

    def materialise(self, night: date, now: datetime) -> int:
        return self.night.materialise(night, now)

    def retention(self, now: datetime) -> dict[str, int]:
        return self._retention.run(now)

    def tonight(self, now: datetime) -> date:
        return self.records.tonight(now)

    def board(self, unit_id: str, now: datetime) -> list[BoardRow]:
        return self.records.board(unit_id, now)

    def counts_per_care_unit(self, now: datetime) -> dict[str, dict[str, int]]:
        return self.records.counts_per_care_unit(now)
