"""Wires e-supervision into the platform: its service, the pipeline listener for bed sensors,
the clock, the alerts, and its own MQTT client for camera-check events.

Why a second MQTT client for ``kv/supervision/+/check``: see ``supervision.camera`` (a refused
camera payload must never reach the dead-letter store, which keeps payloads byte for byte).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.board_notify import BoardNotify
from gateway.mqtt import MqttSource
from supervision.alerting import AlertSink, LogSink, SupervisionAlert
from supervision.changes import BoardChanges
from supervision.counts import count_lines
from supervision.service import SupervisionService
from supervision.settings import SupervisionSettings

if TYPE_CHECKING:
    from gateway.platform import Platform

__all__ = ["EngineSink", "build_supervision", "start_supervision_mqtt"]

log = logging.getLogger(__name__)


class EngineSink:
    """The alerts engine's public API for alerts from outside the rule engine (issue 5).

    The care unit's site (registry) is passed along, so a message says where ("Vallmon, ...")
    instead of "okänd plats".
    """

    def __init__(self, engine: Any, sessions: Any = None) -> None:
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


def _alert_sink(platform: Platform) -> AlertSink:
    engine = getattr(platform, "engine", None)
    if engine is not None and hasattr(engine, "raise_external"):
        return EngineSink(engine, platform.sessions)
    log.warning("the alerts engine has no raise_external: supervision alerts go to the log only")
    return LogSink()


def _board_changes(platform: Platform) -> BoardChanges:
    """On PostgreSQL the boards of every instance move together (``gateway.board_notify``);
    on SQLite there is one instance, and its own count is enough."""
    url = platform.settings.db_url
    if not url.startswith("postgresql"):
        return BoardChanges()
    notify = BoardNotify(platform.db, url)
    changes = BoardChanges(announce=notify.announce)
    notify.start(changes.seen)
    platform.on_stop(notify.stop)
    return changes


def build_supervision(platform: Platform) -> SupervisionService:
    settings: Any = getattr(platform.settings, "supervision", None)
    if not isinstance(settings, SupervisionSettings):
        settings = SupervisionSettings.model_validate(settings or {})
    service = SupervisionService(
        platform.sessions,
        settings,
        registry=platform.registry,
        audit=platform.audit,
        alerts=_alert_sink(platform),
        latest=platform.store.latest,
        care_readings=platform.care_readings,
        base_url=platform.settings.public_url,
        clock=platform.clock,
        changes=_board_changes(platform),
    )
    platform.pipeline.listeners.append(service.on_readings)
    platform.tickers.append(service.tick)
    _install_counts_for_grafana(platform, service)
    return service


def _install_counts_for_grafana(platform: Platform, service: SupervisionService) -> None:
    """With InfluxDB: tonight's counts per care unit and status, once a minute (counts only)."""
    from gateway.stores import spool_of

    spool = spool_of(platform.store)
    if spool is None:
        return
    from gateway.alert_counts import AlertCountWriter
    from ingest.influx_store import InfluxReadingStore

    backend = spool.backend
    if not isinstance(backend, InfluxReadingStore):
        return

    def collect(now: datetime) -> list[str]:
        counts = service.counts_per_care_unit(now)
        return count_lines(counts, service.residents.care_units(), now)

    writer = AlertCountWriter(collect, backend.write_lines)
    platform.tickers.append(writer.tick)
    platform.on_stop(writer.stop)


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
