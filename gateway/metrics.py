"""``/metrics`` in the Prometheus text format (0.0.4), from counters the parts already keep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.stores import spool_metrics

if TYPE_CHECKING:
    from gateway.platform import Platform

__all__ = ["render_metrics"]


def _line(
    name: str,
    value: float,
    help_text: str,
    kind: str = "counter",
    labels: dict[str, str] | None = None,
) -> list[str]:
    label = ""
    if labels:
        label = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name}{label} {value}"]


def _mqtt_metrics(platform: Platform) -> list[str]:
    mqtt = platform.mqtt
    if mqtt is None:
        return []
    out = _line(
        "kommunvakt_mqtt_connected", int(mqtt.connected.is_set()), "1 while subscribed", "gauge"
    )
    out += _line("kommunvakt_mqtt_connects_total", mqtt.connects, "connections to the broker")
    out += _line(
        "kommunvakt_mqtt_sessions_lost_total",
        mqtt.sessions_lost,
        "reconnects that found the broker without our session (messages may have been dropped)",
    )
    return out


def _health_metrics(platform: Platform) -> list[str]:
    """The /healthz checks as gauges, so an outside monitor can page on them."""
    report = platform.health()
    out = _line("kommunvakt_healthy", int(report.ok), "1 while every health check passes", "gauge")
    out.append("# HELP kommunvakt_health_check_ok 1 while this health check passes")
    out.append("# TYPE kommunvakt_health_check_ok gauge")
    out += [f'kommunvakt_health_check_ok{{check="{c.name}"}} {int(c.ok)}' for c in report.checks]
    seconds = {c.name: c.value for c in report.checks}
    rows = [
        ("ingest", "kommunvakt_ingest_stalled_seconds", "work waiting without a stored batch"),
        ("store", "kommunvakt_store_failing_seconds", "every store write failing since"),
        ("clock", "kommunvakt_clock_last_tick_age_seconds", "since the clock last ticked"),
        ("outbox", "kommunvakt_outbox_oldest_pending_age_seconds", "oldest undelivered message"),
    ]
    for check, name, help_text in rows:
        out += _line(name, seconds.get(check, 0.0), help_text, "gauge")
    return out


def render_metrics(platform: Platform) -> str:
    st = platform.pipeline.stats
    out: list[str] = []
    out += _line("kommunvakt_messages_received_total", st.received, "MQTT messages taken in")
    out += _line("kommunvakt_readings_stored_total", st.readings_stored, "readings stored")
    out += _line("kommunvakt_dead_letters_total", st.dead_letters, "messages rejected")
    out += _line(
        "kommunvakt_quarantined_total", st.quarantined, "messages from devices nobody registered"
    )
    out += _line("kommunvakt_duplicates_total", st.duplicates, "duplicate uplinks dropped")
    out += _line(
        "kommunvakt_retained_untimed_total",
        st.retained_untimed,
        "readings of replayed retained messages without a time of their own, not stored",
    )
    out += _line(
        "kommunvakt_care_readings_withheld_total",
        getattr(platform.store, "withheld", 0),
        "bed-sensor readings not stored: no bound resident with sensor consent",
    )
    out += _line("kommunvakt_store_errors_total", st.store_errors, "failed store batches")
    out.append(
        "# HELP kommunvakt_internal_errors_total items a bug stopped, each alone: messages "
        "(kept as dead letters) and reading listeners, readings the rules could not take, "
        "night checks that could not advance"
    )
    out.append("# TYPE kommunvakt_internal_errors_total counter")
    for where, n in (
        ("pipeline", st.bugs),
        ("rules", platform.engine.errors),
        ("night_checks", platform.supervision.stats.errors),
    ):
        out.append(f'kommunvakt_internal_errors_total{{where="{where}"}} {n}')
    out += _line("kommunvakt_queue_depth", platform.pipeline.depth, "messages waiting", "gauge")
    out += spool_metrics(platform.store)
    out += _mqtt_metrics(platform)
    out += _health_metrics(platform)
    out.append("# HELP kommunvakt_messages_by_family_total decoded messages per payload family")
    out.append("# TYPE kommunvakt_messages_by_family_total counter")
    for family, n in sorted(st.by_family.items()):
        out.append(f'kommunvakt_messages_by_family_total{{family="{family}"}} {n}')
    out.append("# HELP kommunvakt_alerts alerts by state")
    out.append("# TYPE kommunvakt_alerts gauge")
    for state, n in sorted(platform.alerts.counts_by_state().items()):
        out.append(f'kommunvakt_alerts{{state="{state}"}} {n}')
    out += _line(
        "kommunvakt_notifications_sent_total", platform.notifier.sent_ok, "notifications delivered"
    )
    out += _line(
        "kommunvakt_notifications_failed_total",
        platform.notifier.sent_failed,
        "notification deliveries that failed",
    )
    # issue 5: notification delivery attempts by outcome, and the outbox by state
    counts = platform.alerting.outbox.counts()
    out.append("# HELP kommunvakt_alert_deliveries_total delivery attempts by outcome")
    out.append("# TYPE kommunvakt_alert_deliveries_total counter")
    for outcome, n in sorted(counts["deliveries"].items()):
        out.append(f'kommunvakt_alert_deliveries_total{{outcome="{outcome}"}} {n}')
    out.append("# HELP kommunvakt_alert_outbox notifications by state (pending: being retried)")
    out.append("# TYPE kommunvakt_alert_outbox gauge")
    for state, n in sorted(counts["outbox"].items()):
        out.append(f'kommunvakt_alert_outbox{{state="{state}"}} {n}')
    return "\n".join(out) + "\n"
