"""The composition root: builds every part from the settings, starts and stops them in order."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from access.audit import AuditLog
from access.users import UserStore
from alerts.engine import AlertEngine
from alerts.notify import Notifier
from alerts.service import build_alerting
from alerts.store import AlertStore
from core.db import make_engine, make_sessionmaker
from core.mqtt_target import MqttTarget
from core.private_files import FILE_MODE, private_dir
from dashboards.record_mail import build_record_mailer
from dashboards.record_service import record_limits
from devices.catalogue import register_types
from devices.dynsec import DynsecAdmin
from devices.migrate import prepare_database
from devices.mqtt_accounts import MqttAccounts
from devices.mqtt_acl import CredentialIssuer
from devices.quarantine import QuarantineStore
from devices.registry import DeviceRegistry
from gateway.broker import EmbeddedBroker
from gateway.data_dir_lock import DataDirLock
from gateway.health import HealthBounds, HealthInputs, HealthReport, IngestProgress, assess
from gateway.heartbeat import Heartbeat
from gateway.lease import Role
from gateway.lease_keeper import LeaseKeeper
from gateway.lease_sql import SqlLease, lease_engine
from gateway.mqtt import MqttSource
from gateway.pipeline import Pipeline
from gateway.session_watch import SessionWatch
from gateway.settings import Settings
from gateway.stores import build_reading_store, keep_care_apart, spool_of, store_extras
from gateway.supervision_wiring import (
    board_changes,
    build_supervision,
    start_supervision_mqtt,
    supervision_counts_writer,
)
from ingest.care_store import CareSplitStore
from ingest.deadletters import DeadLetterStore
from ingest.formats import FormatRouter
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import ReadingStore
from supervision.bedsensors import MonitoredSensors

__all__ = ["Platform", "resolve_admin_token"]

log = logging.getLogger(__name__)

#: says the broker has held this gateway's session before (see gateway.mqtt)
SESSION_MARKER = "mqtt-session"


def resolve_admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin token from settings, or the one generated on first start (kept in data_dir).

    Returns the token and whether it was generated just now (so the CLI prints it once).
    """
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value(), False
    path = settings.data_dir / "admin_token"
    if path.exists():
        os.chmod(path, FILE_MODE)  # an installation from before the data dir was private
        return path.read_text().strip(), False
    private_dir(settings.data_dir)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, True


class Platform:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        store: ReadingStore | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        private_dir(settings.data_dir)
        # before anything opens a file in it: a second process on this data dir stops here
        self._dir_lock = DataDirLock(settings.data_dir).acquire()
        self.admin_token, self.admin_token_generated = resolve_admin_token(settings)
        self.db = make_engine(settings.db_url)
        prepare_database(self.db)  # create + stamp an empty DB, upgrade an existing one
        self.sessions = make_sessionmaker(self.db)
        AuditLog.install_guards(self.db)
        self.audit = AuditLog(self.sessions)
        register_types(settings.device_types)  # extra sensor types: data in the settings
        self.registry = DeviceRegistry(self.sessions)
        self.quarantine = QuarantineStore(self.sessions)
        self.dead_letters = DeadLetterStore(self.sessions)
        # care devices' readings apart from the telemetry store, whichever it is (issue 6)
        # which bed sensors are monitored: e-supervision keeps it, the care store filters by it
        monitored = MonitoredSensors()
        split = keep_care_apart(
            store or build_reading_store(settings, self.registry),
            settings.data_dir,
            self.registry,
            may_store=monitored.may_store,  # a bed sensor's in_bed only with consent
        )
        self.store: CareSplitStore = split
        self.care_readings: SqliteReadingStore = split.care
        #: on a shared database with a shared broker: who of the group is active (else None:
        #: this one instance always is)
        self.lease: LeaseKeeper | None = None
        #: set once when this instance loses the lease; the CLI then exits (EXIT_LEASE_LOST)
        self.lease_lost = threading.Event()
        if settings.uses_lease:
            times = settings.lease_times
            self.lease = LeaseKeeper(
                SqlLease(lease_engine(settings.db_url, times.renew_s), settings.lease_group),
                times,
                on_acquired=self._become_active,
                on_lost=self._step_down,
                on_unattended=self._unattended,
                alarm_after_s=times.takeover_bound_s,
            )
        # issue 5: alert store, outbox + notifier, silences, overrides, ack links, engine
        self.alerting = build_alerting(
            settings,
            self.sessions,
            self.registry,
            clock,
            fence=self.lease.fence if self.lease is not None else None,
        )
        self.alerts: AlertStore = self.alerting.store
        self.notifier: Notifier = self.alerting.notifier
        self.engine: AlertEngine = self.alerting.engine
        # the night board's changes; on PostgreSQL they travel to every instance
        changes, stop_board_notify = board_changes(self.db, settings.db_url)
        self.supervision = build_supervision(  # issue 6: its listener and ticker below
            settings,
            self.sessions,
            registry=self.registry,
            audit=self.audit,
            engine=self.engine,
            store=self.store,
            care_readings=self.care_readings,
            monitored=monitored,
            changes=changes,
            clock=clock,
        )
        self.users = UserStore(self.sessions)
        self.record_mailer = build_record_mailer(  # issue 10: the morning e-mail, when set
            urls=[u.get_secret_value() for u in settings.record_mail_urls],
            send_at=time.fromisoformat(settings.record_mail_time),
            registry=self.registry,
            store=self.store,
            alert_store=self.alerts,
            limits=record_limits(settings),
            data_dir=settings.data_dir,
        )
        self.router = FormatRouter(settings.formats)
        self.pipeline = Pipeline(
            self.router,
            self.registry,
            self.store,
            self.engine,
            self.quarantine,
            self.dead_letters,
            queue_size=settings.queue_size,
            batch_size=settings.batch_size,
            batch_wait=settings.batch_wait_ms / 1000,
            clock=clock,
            max_ahead=timedelta(seconds=settings.max_clock_skew_s),
            may_write=self.may_act,
            listeners=[self.supervision.on_readings],
        )
        self.broker: EmbeddedBroker | None = None
        # the embedded broker's logins; the gateway's own password lives only in this process
        gateway_password = secrets.token_urlsafe(32)
        self.mqtt_accounts = MqttAccounts(
            self.sessions,
            self.registry,
            gateway_username=settings.mqtt_client_id,
            gateway_password=gateway_password,
            camera_topic=settings.supervision.camera_topic,
            clock=clock,
        )
        #: where the gateway's MQTT clients connect, with which login
        self.mqtt_target: MqttTarget = (
            MqttTarget(
                settings.mqtt_bind, settings.mqtt_port, settings.mqtt_client_id, gateway_password
            )
            if settings.embedded_broker
            else settings.mqtt_target
        )
        #: the gateway's MQTT client id. On the embedded broker it gets a secret suffix: amqtt
        #: drops the session of a client id that connects with a clean session before it checks
        #: the login, so anyone who knew the id could silently end the gateway's subscriptions.
        #: The broker lives as long as this process, so no session outlives the id.
        self.mqtt_client_id = (
            f"{settings.mqtt_client_id}-{secrets.token_hex(8)}"
            if settings.embedded_broker
            else settings.mqtt_client_id
        )
        #: who issues devices' MQTT logins: Mosquitto's dynamic security, or the embedded store
        self.mqtt_issuer: CredentialIssuer | None = (
            DynsecAdmin.from_url(settings.dynsec_url.get_secret_value())
            if settings.dynsec_url is not None
            else self.mqtt_accounts
            if settings.embedded_broker
            else None
        )
        self.mqtt: MqttSource | None = None
        self.started_at = clock()
        #: when the clock thread last began a tick (health: the process does its periodic work)
        self.last_tick = self.started_at
        self.health_bounds = HealthBounds(
            ingest_stall_s=settings.health_ingest_stall_s,
            store_failing_s=settings.health_store_failing_s,
            spool_age_s=settings.health_spool_age_s,
            clock_s=settings.health_clock_s,
            outbox_age_s=settings.health_outbox_age_s,
        )
        self.ingest_progress = IngestProgress(self.started_at)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._active = threading.Event()
        self._mqtt_wanted = False
        self.heartbeat: Heartbeat | None = None
        if settings.heartbeat_url is not None:
            self.heartbeat = Heartbeat(
                settings.heartbeat_url.get_secret_value(),
                settings.heartbeat_interval_s,
                self.healthy,
            )
        self._extra_stops: list[Callable[[], None]] = []
        #: called every second with ``now`` on the clock thread (schedules, escalation, ...)
        self.tickers: list[Callable[[datetime], None]] = [self._observe_ingest, self.engine.tick]
        extra_tickers, extra_stops = store_extras(self)  # InfluxDB: Grafana counts, spool alarm
        self.tickers += extra_tickers
        self._extra_stops += extra_stops
        if stop_board_notify is not None:
            self._extra_stops.append(stop_board_notify)
        self.tickers.append(self.supervision.tick)
        counts = supervision_counts_writer(self.store, self.supervision)
        if counts is not None:
            self.tickers.append(counts.tick)
            self.on_stop(counts.stop)
        if self.record_mailer is not None:
            self.tickers.append(self.record_mailer)

    def start(self, *, mqtt: bool = True) -> None:
        s = self.settings
        log.info("settings: %s", s.masked())
        if mqtt and s.embedded_broker:
            self.broker = EmbeddedBroker(
                s.mqtt_bind,
                s.mqtt_port,
                self.mqtt_accounts,
                gateway_client_id=s.mqtt_client_id,
                allow_anonymous=s.mqtt_allow_anonymous,
            )
            self.broker.start()
        self._mqtt_wanted = mqtt
        self.notifier.start()  # sends only while this instance may act (``may_act``)
        self.pipeline.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="clock", daemon=True)
        self._ticker.start()
        if self.lease is None:
            self._become_active(None)
        else:
            log.info(
                "gateway group %r: standing by until this instance holds the lease",
                s.lease_group,
            )
            self.lease.start()
        if self.heartbeat is not None:
            self.heartbeat.start()

    def may_act(self) -> bool:
        """May this instance consume, tick and send now? Asked before each step: a process
        frozen past its lease must not act on the moment it wakes."""
        return self.lease is None or self.lease.held()

    def role(self) -> Role:
        if self.lease is None:
            return "active"
        if not self.lease.held():
            return "standby"
        ready = self._active.is_set() and (self.mqtt is None or self.mqtt.connected.is_set())
        return "active" if ready else "takeover"

    def healthy(self) -> bool:
        """For the heartbeat: the database answers the lease, and the active one is consuming."""
        if self.lease is not None and (self.lease.lost or not self.lease.reachable()):
            return False
        return self.role() != "takeover" and (self.mqtt is None or self.mqtt.connected.is_set())

    def _become_active(self, token: int | None) -> None:
        """Start the active work: resume the rules, consume the shared MQTT session, tick."""
        if token is not None:
            self.registry.reload()  # devices registered through another instance meanwhile
            self.notifier.drop_unconfigured()  # a standby leaves the shared outbox alone
        restored = self.engine.restore()
        if restored:
            log.info("resumed %d open alert(s) from the store", restored)
        if self._mqtt_wanted:
            s = self.settings
            self.mqtt = mqtt_source = MqttSource(
                self.mqtt_target,
                self.mqtt_client_id,
                self.router.subscriptions,
                self.pipeline.submit,
                ca_file=s.mqtt_ca_file,
                cert_file=s.mqtt_cert_file,
                key_file=s.mqtt_key_file,
                # the embedded broker dies with the process: no session to expect after a restart
                session_marker=None if s.embedded_broker else s.data_dir / SESSION_MARKER,
                may_run=self.may_act,
            )
            self.tickers.append(SessionWatch(lambda: mqtt_source.sessions_lost, self.engine).tick)
            self.pipeline.set_ack(self.mqtt.ack)
            self.mqtt.start()
            start_supervision_mqtt(self)  # issue 6: camera-check events
        self._active.set()
        if token is not None:
            log.info("active with fencing token %d", token)

    def _step_down(self) -> None:
        """Lease lost: everything active has already stopped acting (``may_act``); close the
        MQTT session without acknowledging more and let the CLI exit (a fresh standby)."""
        self._active.clear()
        if self.mqtt is not None:
            self.mqtt.stop()
        self.lease_lost.set()

    def _unattended(self, alarm: bool, gap_s: float) -> None:
        now = self.clock()
        if alarm:
            self.engine.raise_external(
                "gateway",
                "no_active_gateway",
                "critical",
                f"Ingen aktiv gateway i gruppen {self.settings.lease_group!r} på {gap_s:.0f} s: "
                "mätvärden, nattillsyn och larm väntar. Kontrollera databasen och gatewayerna.",
                ["role:operator"],
                now,
            )
        else:
            self.engine.resolve_external(
                "gateway", "no_active_gateway", now, note="en gateway är aktiv igen"
            )

    def _observe_ingest(self, now: datetime) -> None:
        st = self.pipeline.stats
        self.ingest_progress.observe(now, self.pipeline.depth, st.batches, st.store_errors)

    def health(self) -> HealthReport:
        now = self.clock()
        spool = spool_of(self.store)
        oldest = self.alerting.outbox.oldest_pending()
        inputs = HealthInputs(
            mqtt_connected=None if self.mqtt is None else self.mqtt.connected.is_set(),
            queue_depth=self.pipeline.depth,
            ingest_stalled_s=self.ingest_progress.stalled_s(now),
            store_failing_s=self.ingest_progress.failing_s(now),
            spool_oldest_s=None if spool is None else spool.stats().oldest_age_s,
            clock_age_s=max(0.0, (now - self.last_tick).total_seconds()),
            outbox_oldest_s=None if oldest is None else max(0.0, (now - oldest).total_seconds()),
        )
        return assess(inputs, self.health_bounds)

    def on_stop(self, fn: Callable[[], None]) -> None:
        self._extra_stops.append(fn)

    def _tick_loop(self) -> None:
        last_prune = 0.0
        while not self._stop.wait(1.0):
            now = self.clock()
            self.last_tick = now
            if not (self._active.is_set() and self.may_act()):
                continue  # a standby: the loop runs, the active one's clock work does not
            for ticker in self.tickers:
                try:
                    ticker(now)
                except Exception:
                    log.exception(
                        "clock tick of %s failed", getattr(ticker, "__qualname__", ticker)
                    )
            try:
                if now.timestamp() - last_prune > 3600:
                    last_prune = now.timestamp()
                    self.pipeline.prune(
                        timedelta(days=self.settings.dead_letter_retention_days),
                        timedelta(hours=self.settings.quarantine_retention_hours),
                    )
                    self.prune_readings(now)
            except Exception:
                log.exception("clock tick failed")

    def prune_readings(self, now: datetime) -> int:
        """Retention of the embedded telemetry store (hourly, from the clock): readings older
        than ``reading_retention_days`` go, retired devices' history with them. InfluxDB keeps
        its own retention on the bucket; care readings are pruned by e-supervision."""
        days = self.settings.reading_retention_days
        telemetry = self.store.telemetry
        if days == 0 or not isinstance(telemetry, SqliteReadingStore):
            return 0
        gone = telemetry.prune(now - timedelta(days=days))
        if gone:
            log.info("retention: %d readings older than %d days removed", gone, days)
        return gone

    def stop(self) -> None:
        self._stop.set()
        if self.heartbeat is not None:
            self.heartbeat.stop()
        for fn in reversed(self._extra_stops):
            fn()
        if self.mqtt is not None:
            self.mqtt.stop()
        self.pipeline.stop()
        self.notifier.stop()
        if self.lease is not None:
            self.lease.stop()  # after the work stopped: hands the lease to a standby at once
        if self.broker is not None:
            self.broker.stop()
        self.store.close()
        self.db.dispose()
        self._dir_lock.release()

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir
