"""Which reading store the platform runs on (``KOMMUNVAKT_STORE``), and the spool's signals.

Care devices' readings are kept apart whichever store it is (``keep_care_apart``): they go to
``data_dir/care_readings.db``, never to the telemetry store below. ``sqlite`` (default) is the
embedded store. ``influxdb`` is InfluxDB 2 behind the durable spool
in ``data_dir/influx-spool.db``: the pipeline's acknowledgement waits for the spool, the spool's
sender writes to InfluxDB. The spool's size and age go to ``/metrics``; a full spool is an
alert (see ``watch_spool``) as well as a gauge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from devices.catalogue import is_care_device
from devices.registry import DeviceRegistry
from gateway.errors import GatewayError
from gateway.settings import Settings
from ingest.care_store import CARE_FILE, CareSplitStore
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import ReadingStore

if TYPE_CHECKING:
    from gateway.platform import Platform
    from ingest.spool import SpooledStore, SpoolStats

__all__ = [
    "SpoolWatch",
    "build_reading_store",
    "care_devices",
    "care_store_of",
    "keep_care_apart",
    "spool_metrics",
    "spool_of",
    "store_extras",
]

log = logging.getLogger(__name__)

SPOOL_FILE = "influx-spool.db"


def build_reading_store(settings: Settings, registry: DeviceRegistry) -> ReadingStore:
    if settings.store == "sqlite":
        return SqliteReadingStore(settings.data_dir / "readings.db")
    # imported here: the embedded default must not need influxdb-client at start-up
    from ingest.influx_store import InfluxReadingStore, registry_tags
    from ingest.spool import SpooledStore

    if settings.influx_token is None:
        raise GatewayError("KOMMUNVAKT_STORE=influxdb needs KOMMUNVAKT_INFLUX_TOKEN")
    backend = InfluxReadingStore(
        settings.influx_url,
        settings.influx_token.get_secret_value(),
        settings.influx_org,
        settings.influx_bucket,
        tags_for=registry_tags(registry),
        retention_days=settings.influx_retention_days,
        timeout_ms=settings.influx_timeout_ms,
    )
    return SpooledStore(
        backend,
        settings.data_dir / SPOOL_FILE,
        batch_size=settings.influx_batch_size,
        flush_interval=settings.influx_flush_interval_ms / 1000,
        max_readings=settings.spool_max_readings,
        on_full=_log_spool_full,
    )


def care_devices(registry: DeviceRegistry) -> Callable[[str], bool]:
    """Is this device care data (``devices.catalogue.is_care_device``)? From the registry's
    in-memory cache (no SQL)."""

    def is_care(device_id: str) -> bool:
        info = registry.info(device_id)
        return info is not None and is_care_device(info.type, info.care_unit_id)

    return is_care


def keep_care_apart(
    telemetry: ReadingStore,
    data_dir: Path,
    registry: DeviceRegistry,
    may_store: Callable[[str, str], bool] | None = None,
) -> CareSplitStore:
    """The store the platform uses: care devices' readings in ``data_dir/care_readings.db``,
    the rest in ``telemetry``. Care readings an older version left in an embedded telemetry
    store are moved over at once (with InfluxDB they have to be deleted there by hand, see
    docs/production.md)."""
    is_care = care_devices(registry)
    care = SqliteReadingStore(data_dir / CARE_FILE, secure_delete=True)
    if isinstance(telemetry, SqliteReadingStore):
        _move_care_readings(telemetry, care, is_care)
    return CareSplitStore(telemetry, care, is_care, may_store)


def _move_care_readings(
    telemetry: SqliteReadingStore, care: SqliteReadingStore, is_care: Callable[[str], bool]
) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for device_id in sorted(d for d in telemetry.device_ids() if is_care(d)):
        readings = telemetry.readings_of(device_id, epoch)
        care.write(readings)  # first: a crash in between leaves a copy, never a loss
        telemetry.erase(device_id, epoch)
        log.warning(
            "moved %d readings of care device %s from %s to %s",
            len(readings),
            device_id,
            telemetry.path.name,
            care.path.name,
        )


def care_store_of(store: object) -> SqliteReadingStore | None:
    return store.care if isinstance(store, CareSplitStore) else None


def spool_of(store: object) -> SpooledStore | None:
    """The spool in front of InfluxDB, if the telemetry store is one."""
    from ingest.spool import SpooledStore

    if isinstance(store, CareSplitStore):
        store = store.telemetry
    return store if isinstance(store, SpooledStore) else None


def spool_metrics(store: object) -> list[Metric]:
    """The spool's figures for ``/metrics`` (none on the embedded store)."""
    spool = spool_of(store)
    if spool is None:
        return []
    st = spool.stats()
    gauges = [
        ("kommunvakt_spool_readings", "readings waiting for InfluxDB", st.size),
        ("kommunvakt_spool_capacity_readings", "spool bound", st.capacity),
        ("kommunvakt_spool_oldest_age_seconds", "age of the oldest", st.oldest_age_s),
        ("kommunvakt_spool_full", "1 while the spool refuses writes", int(st.full)),
    ]
    counters = [
        ("kommunvakt_spool_sent_total", "readings delivered to InfluxDB", st.sent),
        ("kommunvakt_spool_rejected_total", "readings InfluxDB refused", st.rejected),
        ("kommunvakt_spool_send_errors_total", "failed sends", st.send_errors),
    ]
    out: list[Metric] = [GaugeMetricFamily(n, h, value=v) for n, h, v in gauges]
    out += [CounterMetricFamily(n, h, value=v) for n, h, v in counters]
    return out


def store_extras(
    platform: Platform,
) -> tuple[list[Callable[[datetime], None]], list[Callable[[], None]]]:
    """The clock tickers (and what to stop) the store brings: with InfluxDB, alert and
    care-device counts for Grafana each minute and the spool-full alarm; with
    ``KOMMUNVAKT_GRAFANA_DASHBOARDS_DIR``, dashboard JSON kept in step with the registry."""
    tickers: list[Callable[[datetime], None]] = []
    stops: list[Callable[[], None]] = []
    if platform.settings.grafana_dashboards_dir is not None:
        tickers.append(_dashboard_writer(platform, platform.settings.grafana_dashboards_dir))
    spool = spool_of(platform.store)
    if spool is None:
        return tickers, stops
    from gateway.alert_counts import AlertCountWriter, alert_count_lines, care_device_count_lines
    from ingest.influx_store import InfluxReadingStore

    care = care_store_of(platform.store)

    def collect(now: datetime) -> list[str]:
        triples = []
        for alert in platform.alerts.open_alerts():
            info = platform.registry.info(alert.device_id)
            triples.append((info.site_id if info else None, alert.state, alert.severity))
        sites = [site.id for site in platform.registry.list_sites()]
        lines = alert_count_lines(triples, sites, now)
        if care is not None:  # care devices for Grafana: counts per care unit, nothing else
            units = [u.id for u in platform.registry.list_care_units()]
            devices = platform.registry.all_info()
            lines += care_device_count_lines(devices, units, care.last_seen(), now)
        return lines

    backend = spool.backend
    if isinstance(backend, InfluxReadingStore):
        writer = AlertCountWriter(collect, backend.write_lines)
        tickers.append(writer.tick)
        stops.append(writer.stop)

    tickers.append(SpoolWatch(spool, platform.engine).tick)
    return tickers, stops


def _log_spool_full(stats: SpoolStats) -> None:
    # at once, from the pipeline thread: the pipeline stops acknowledging now and the
    # broker keeps what arrives; the alert follows on the next clock tick (SpoolWatch)
    log.error(
        "spool full: %d readings wait for InfluxDB (oldest %.0f s); last error: %s",
        stats.size,
        stats.oldest_age_s,
        stats.last_error,
    )


def _dashboard_writer(platform: Platform, target: Path) -> Callable[[datetime], None]:
    """A clock ticker: regenerate the dashboards each minute; files change only when the
    registry did, and Grafana's file provider picks changed files up by itself."""
    from dashboards.grafana import Site, build_dashboards
    from dashboards.grafana.provisioning import DATASOURCE_UID, write_json

    last: list[datetime] = []

    def tick(now: datetime) -> None:
        if last and (now - last[0]).total_seconds() < 60:
            return
        last[:] = [now]
        sites = [Site(s.id, s.name) for s in platform.registry.list_sites()]
        generated = build_dashboards(
            sites,
            platform.registry.all_info(),
            bucket=platform.settings.influx_bucket,
            datasource_uid=DATASOURCE_UID,
        )
        write_json(generated, target)

    return tick


class SpoolWatch:
    """Turns the spool's state into one platform alert (``alerts-api.md``, raise_external).

    Warning once the oldest reading has waited ``backlog_s`` (InfluxDB down or too slow);
    critical when the spool is full (the gateway has stopped acknowledging); resolved when
    the backlog is gone. One alert per episode: raising again only changes its severity.
    """

    SOURCE = "influxdb-spool"
    RULE = "reading_store_backlog"

    def __init__(self, spool: SpooledStore, engine: Any, backlog_s: float = 600.0) -> None:
        self.spool, self.engine, self.backlog_s = spool, engine, backlog_s
        self._severity: str | None = "unknown"  # resolve a stale alert from before a restart

    def tick(self, now: datetime) -> None:
        st = self.spool.stats()
        severity = None
        if st.full:
            severity = "critical"
        elif st.oldest_age_s >= self.backlog_s or (
            self._severity in ("warning", "critical") and st.oldest_age_s >= 60
        ):
            severity = "warning"
        if severity == self._severity:
            return
        if severity is None:
            self.engine.resolve_external(self.SOURCE, self.RULE, now, note=f"{st.sent} skickade")
        else:
            if st.full:
                message = (
                    f"Lokala bufferten för avläsningar är full ({st.size} st): gatewayen tar "
                    "inte emot fler meddelanden förrän InfluxDB svarar igen."
                )
            else:
                message = (
                    f"InfluxDB tar inte emot avläsningar; {st.size} väntar i lokala bufferten "
                    f"(äldsta {st.oldest_age_s / 60:.0f} min)."
                )
            self.engine.raise_external(
                self.SOURCE, self.RULE, severity, message, ["role:operator"], now
            )
        self._severity = severity
