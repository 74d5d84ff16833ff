"""Which reading store the platform runs on (``KOMMUNVAKT_STORE``), and the spool's signals.

``sqlite`` (default) is the embedded store. ``influxdb`` is InfluxDB 2 behind the durable spool
in ``data_dir/influx-spool.db``: the pipeline's acknowledgement waits for the spool, the spool's
sender writes to InfluxDB. The spool's size and age go to ``/metrics``; a full spool is an
alert (see ``watch_spool``) as well as a gauge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devices.registry import DeviceRegistry
from gateway.errors import GatewayError
from gateway.settings import Settings
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import ReadingStore

if TYPE_CHECKING:
    from ingest.spool import SpooledStore

__all__ = ["build_reading_store", "spool_metrics", "spool_of"]

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
    )


def spool_of(store: object) -> SpooledStore | None:
    from ingest.spool import SpooledStore

    return store if isinstance(store, SpooledStore) else None


def spool_metrics(store: object) -> list[str]:
    """Prometheus lines for the spool (none on the embedded store)."""
    spool = spool_of(store)
    if spool is None:
        return []
    st = spool.stats()
    rows = [
        ("kommunvakt_spool_readings", st.size, "gauge", "readings waiting for InfluxDB"),
        ("kommunvakt_spool_capacity_readings", st.capacity, "gauge", "spool bound"),
        ("kommunvakt_spool_oldest_age_seconds", st.oldest_age_s, "gauge", "age of the oldest"),
        ("kommunvakt_spool_full", int(st.full), "gauge", "1 while the spool refuses writes"),
        ("kommunvakt_spool_sent_total", st.sent, "counter", "readings delivered to InfluxDB"),
        ("kommunvakt_spool_rejected_total", st.rejected, "counter", "readings InfluxDB refused"),
        ("kommunvakt_spool_send_errors_total", st.send_errors, "counter", "failed sends"),
    ]
    out: list[str] = []
    for name, value, kind, help_text in rows:
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return out
