"""``/metrics`` for Prometheus, from counters the parts already keep.

One ``CollectorRegistry`` per app (never the library's global one: several apps in one
process, as in the tests, would clash), holding one collector that reads the pipeline's,
the rules', the notifier's and the health checks' own figures at scrape time. Nothing is
counted twice; ``prometheus_client`` writes the text format, label values escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from gateway.stores import spool_metrics
from ingest.care_store import CareSplitStore

if TYPE_CHECKING:
    from gateway.platform import Platform

__all__ = ["CONTENT_TYPE", "metrics_registry", "render_metrics"]

#: the classic text format: what every Prometheus and VictoriaMetrics scraper reads
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_text, value=value)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _labelled(
    family: CounterMetricFamily | GaugeMetricFamily, values: Iterable[tuple[str, float]]
) -> Metric:
    """``family`` (of one label) with a sample per (label value, value)."""
    for label, value in values:
        family.add_metric([label], value)
    return family


class _PlatformCollector:
    """Reads the platform's figures each time ``/metrics`` is scraped."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    def collect(self) -> Iterator[Metric]:
        platform = self._platform
        st = platform.pipeline.stats
        yield _counter("kommunvakt_messages_received_total", "MQTT messages taken in", st.received)
        yield _counter("kommunvakt_readings_stored_total", "readings stored", st.readings_stored)
        yield _counter("kommunvakt_dead_letters_total", "messages rejected", st.dead_letters)
        yield _counter(
            "kommunvakt_quarantined_total",
            "messages from devices nobody registered",
            st.quarantined,
        )
        yield _counter("kommunvakt_duplicates_total", "duplicate uplinks dropped", st.duplicates)
        yield _counter(
            "kommunvakt_retained_untimed_total",
            "readings of replayed retained messages without a time of their own, not stored",
            st.retained_untimed,
        )
        store = platform.store
        yield _counter(
            "kommunvakt_care_readings_withheld_total",
            "bed-sensor readings not stored: no bound resident with sensor consent",
            store.withheld if isinstance(store, CareSplitStore) else 0,
        )
        yield _counter("kommunvakt_store_errors_total", "failed store batches", st.store_errors)
        yield _labelled(
            CounterMetricFamily(
                "kommunvakt_internal_errors_total",
                "items a bug stopped, each alone: messages (kept as dead letters) and reading "
                "listeners, readings the rules could not take, night checks that could not "
                "advance",
                labels=["where"],
            ),
            [
                ("pipeline", st.bugs),
                ("rules", platform.engine.errors),
                ("night_checks", platform.supervision.stats.errors),
            ],
        )
        yield _gauge("kommunvakt_queue_depth", "messages waiting", platform.pipeline.depth)
        yield from spool_metrics(store)
        yield from self._mqtt()
        yield from self._health()
        yield _labelled(
            CounterMetricFamily(
                "kommunvakt_messages_by_family_total",
                "decoded messages per payload family",
                labels=["family"],
            ),
            sorted(st.by_family.items()),
        )
        yield _labelled(
            GaugeMetricFamily("kommunvakt_alerts", "alerts by state", labels=["state"]),
            sorted(platform.alerts.counts_by_state().items()),
        )
        notifier = platform.notifier
        yield _counter(
            "kommunvakt_notifications_sent_total", "notifications delivered", notifier.sent_ok
        )
        yield _counter(
            "kommunvakt_notifications_failed_total",
            "notification deliveries that failed",
            notifier.sent_failed,
        )
        counts = platform.alerting.outbox.counts()
        yield _labelled(
            CounterMetricFamily(
                "kommunvakt_alert_deliveries_total",
                "delivery attempts by outcome",
                labels=["outcome"],
            ),
            sorted(counts["deliveries"].items()),
        )
        yield _labelled(
            GaugeMetricFamily(
                "kommunvakt_alert_outbox",
                "notifications by state (pending: being retried)",
                labels=["state"],
            ),
            sorted(counts["outbox"].items()),
        )

    def _mqtt(self) -> Iterator[Metric]:
        mqtt = self._platform.mqtt
        if mqtt is None:
            return
        yield _gauge("kommunvakt_mqtt_connected", "1 while subscribed", mqtt.connected.is_set())
        yield _counter("kommunvakt_mqtt_connects_total", "connections to the broker", mqtt.connects)
        yield _counter(
            "kommunvakt_mqtt_sessions_lost_total",
            "reconnects that found the broker without our session (messages may have been dropped)",
            mqtt.sessions_lost,
        )

    def _health(self) -> Iterator[Metric]:
        """The /healthz checks as gauges, so an outside monitor can page on them."""
        report = self._platform.health()
        yield _gauge("kommunvakt_healthy", "1 while every health check passes", report.ok)
        yield _labelled(
            GaugeMetricFamily(
                "kommunvakt_health_check_ok",
                "1 while this health check passes",
                labels=["check"],
            ),
            [(c.name, c.ok) for c in report.checks],
        )
        seconds = {c.name: c.value for c in report.checks}
        rows = [
            ("ingest", "kommunvakt_ingest_stalled_seconds", "work waiting without a stored batch"),
            ("store", "kommunvakt_store_failing_seconds", "every store write failing since"),
            ("clock", "kommunvakt_clock_last_tick_age_seconds", "since the clock last ticked"),
            (
                "outbox",
                "kommunvakt_outbox_oldest_pending_age_seconds",
                "oldest undelivered message",
            ),
        ]
        for check, name, help_text in rows:
            yield _gauge(name, help_text, seconds.get(check, 0.0))


def metrics_registry(platform: Platform) -> CollectorRegistry:
    """A registry of this platform's own: what ``/metrics`` serves."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_PlatformCollector(platform))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
