"""Wires e-supervision into the platform: its service, the pipeline listener for bed sensors,
the clock, the alerts, and its own MQTT client for camera-check events.

Why a second MQTT client for ``kv/supervision/+/check``: see ``supervision.camera`` (a refused
camera payload must never reach the dead-letter store, which keeps payloads byte for byte).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from access.audit import AuditLog
from alerts.engine import AlertEngine
from devices.registry import DeviceRegistry
from gateway.alert_counts import AlertCountWriter
from gateway.board_notify import BoardNotify
from gateway.mqtt import MqttSource
from gateway.settings import Settings
from gateway.stores import spool_of
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import ReadingStore
from supervision.alerting import SupervisionAlert
from supervision.bedsensors import MonitoredSensors
from supervision.changes import BoardChanges
from supervision.counts import count_lines
from supervision.service import SupervisionService

if TYPE_CHECKING:
    from gateway.platform import Platform

__all__ = [
    "EngineSink",
    "build_supervision",
    "start_supervision_mqtt",
    "supervision_counts_writer",
]

log = logging.getLogger(__name__)


class EngineSink:
    """The alerts engine's public API for alerts from outside the rule engine (issue 5).

    The care unit's site (registry) is passed along, so a message says where ("Vallmon, ...")
    instead of "okänd plats".
    """

    def __init__(self, engine: AlertEngine, sessions: sessionmaker[Session] | None = None) -> None:
        self.engine = engine
        self._sessions = sessions
        self._sites: dict[str, str | None] = {}

    def _site_of(self, unit: str) -> str | None:
        if unit not in self._sites and self._sessions is not None:
            from devices.models import CareUnitRow

            with self._sessions() as s:
                row = s.get(CareUnitRow, unit)
                self._sites[unit] = row.site_id if row is not None else None
        return self._sites.get(unit)

    def raise_alert(self, alert: SupervisionAlert) -> None:
        self.engine.raise_external(
            alert.key,
            alert.kind,
            alert.severity,
            f"{alert.title}\n{alert.body}",
            tags=[f"care_unit:{alert.care_unit_id}", "role:night_staff"],
            at=alert.at,
            site_id=self._site_of(alert.care_unit_id),
        )

    def resolve_alert(
        self, key: str, rule: str, at: datetime, actor: str, note: str | None = None
    ) -> None:
        self.engine.resolve_external(key, rule, at, actor=actor, note=note)

    def erase_alerts(self, keys: list[str]) -> int:
        return int(self.engine.erase_external(keys))


def board_changes(db: Engine, url: str) -> tuple[BoardChanges, Callable[[], None] | None]:
    """On PostgreSQL the boards of every instance move together (``gateway.board_notify``);
    on SQLite there is one instance, and its own count is enough. Returns the changes and what
    stops their listener (``None`` when there is none)."""
    if not url.startswith("postgresql"):
        return BoardChanges(), None
    notify = BoardNotify(db, url)
    changes = BoardChanges(announce=notify.announce)
    notify.start(changes.seen)
    return changes, notify.stop


def build_supervision(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    registry: DeviceRegistry,
    audit: AuditLog,
    engine: AlertEngine,
    store: ReadingStore,
    care_readings: SqliteReadingStore,
    monitored: MonitoredSensors,
    changes: BoardChanges,
    clock: Callable[[], datetime],
) -> SupervisionService:
    """The service; the root passes its listener, filter and ticker to the pipeline, the care
    store and the clock."""
    return SupervisionService(
        sessions,
        settings.supervision,
        registry=registry,
        audit=audit,
        alerts=EngineSink(engine, sessions),
        latest=store.latest,
        care_readings=care_readings,
        base_url=settings.public_url,
        clock=clock,
        monitored=monitored,
        changes=changes,
    )


def supervision_counts_writer(
    store: ReadingStore, service: SupervisionService
) -> AlertCountWriter | None:
    """With InfluxDB: tonight's counts per care unit and status, once a minute (counts only)."""
    spool = spool_of(store)
    if spool is None:
        return None
    # imported here: the embedded default must not need influxdb-client at start-up
    from ingest.influx_store import InfluxReadingStore

    backend = spool.backend
    if not isinstance(backend, InfluxReadingStore):
        return None

    def collect(now: datetime) -> list[str]:
        counts = service.counts_per_care_unit(now)
        return count_lines(counts, service.residents.care_units(), now)

    return AlertCountWriter(collect, backend.write_lines)


def start_supervision_mqtt(platform: Platform) -> MqttSource:
    s = platform.settings
    service = platform.supervision
    service.camera_inbox.start()
    platform.on_stop(service.camera_inbox.stop)
    source = MqttSource(
        platform.mqtt_target,
        f"{platform.mqtt_client_id}-supervision",
        [service.settings.camera_topic],
        service.camera_inbox.submit,
        ca_file=s.mqtt_ca_file,
        cert_file=s.mqtt_cert_file,
        key_file=s.mqtt_key_file,
        may_run=platform.may_act,
    )
    service.camera_inbox.set_ack(source.ack)
    source.start()
    platform.on_stop(source.stop)
    return source
