"""The words of a notification, in Swedish: site, place, value, threshold, since when, a link."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.store import Alert

__all__ = ["SEVERITY_SV", "alert_message"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SEVERITY_SV = {"warning": "Varning", "critical": "Kritiskt larm", "info": "Information"}
METRIC_SV = {"temperature": "temperatur", "humidity": "luftfuktighet", "battery": "batteri"}
UNIT_SV = {"temperature": " °C", "humidity": " %", "battery": " %"}


def _local(when: datetime) -> str:
    return when.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def alert_message(
    alert: Alert,
    kind: str,
    *,
    device_name: str,
    site: str | None,
    place: str | None,
    link: str,
) -> tuple[str, str]:
    where = ", ".join(p for p in (site, place) if p) or "okänd plats"
    metric = METRIC_SV.get(alert.metric, alert.metric)
    unit = UNIT_SV.get(alert.metric, "")
    if kind == "resolve":
        title = f"Återställt: {device_name} ({where})"
        body = (
            f"Larmet för {device_name} på {where} är återställt.\n"
            f"{metric.capitalize()}: {alert.value:g}{unit} (gräns {alert.threshold:g}{unit}).\n"
            f"Larmet började {_local(alert.started_at)}.\n{link}"
        )
        return title, body
    severity = SEVERITY_SV.get(alert.severity, alert.severity)
    title = f"{severity}: {device_name} ({where})"
    body = (
        f"{severity} för {device_name} på {where}.\n"
        f"{metric.capitalize()}: {alert.value:g}{unit}, gräns {alert.threshold:g}{unit}.\n"
        f"Sedan {_local(alert.started_at)}.\n"
        f"Kvittera: {link}"
    )
    return title, body
