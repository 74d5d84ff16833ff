"""The words of a notification, in Swedish: what, where, value, threshold, since when, a link.

Pure: the engine passes the alert, the names it looked up and the links. Times are wall-clock
Europe/Stockholm; numbers use a decimal comma. Messages name places and devices, never people.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.store import Alert

__all__ = ["SEVERITY_SV", "beyond_since", "compose", "detail_for", "what"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SEVERITY_SV = {"warning": "Varning", "critical": "Kritiskt larm", "info": "Information"}
METRIC_SV = {
    "temperature": ("Temperatur", " °C"),
    "humidity": ("Luftfuktighet", " %"),
    "battery": ("Batterinivå", " %"),
    "co2": ("Koldioxid", " ppm"),
    "fill_level": ("Fyllnadsgrad", " %"),
}
EVENT_SV = {
    "water_leak": "Vattenläckage upptäckt",
    "alarm_button": "Trygghetslarmet har utlösts",
    "fall": "Fall upptäckt",
    "door_open": "Dörren är öppen",
    "armed": "Larmet är inte tillkopplat",
}


def local(when: datetime) -> str:
    return when.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:g}".replace(".", ",").replace("-", "−")


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:g}".replace(".", ",")


def detail_for(kind: str, metric: str, since: datetime | None, limit_s: float | None) -> str:
    """The sentence about what is wrong, for rule kinds whose value is not a measurement."""
    when = f" sedan {local(since)}" if since is not None else ""
    if kind == "state_held":
        what = EVENT_SV.get(metric, f"{metric} avviker")
        return f"{what}{when} (gräns {_minutes(limit_s)} min)."
    if kind == "after_closing":
        what = EVENT_SV.get(metric, f"{metric} avviker")
        return f"{what} efter stängningstid{when}."
    if kind == "event":
        return f"{EVENT_SV.get(metric, metric)}{when}."
    if kind == "no_data":
        if metric == "online":
            return f"Enheten har meddelat att den är offline{when}."
        return f"Inga data{when} (tystnad över {_minutes(limit_s)} min)."
    return ""


def what(alert: Alert) -> str:
    """The sentence about the problem: a measurement against its limit, or the rule's words."""
    measured = (
        alert.origin == "rule"
        and alert.value is not None
        and alert.threshold is not None
        and alert.metric not in EVENT_SV
    )
    if measured:
        name, unit = METRIC_SV.get(alert.metric, (alert.metric.capitalize(), ""))
        line = f"{name} {num(alert.value)}{unit}, gräns {num(alert.threshold)}{unit}."
        return f"{line} {alert.message}" if alert.message else line
    if alert.message:
        return alert.message
    return alert.rule.replace("_", " ")


def beyond_since(direction: str, since: datetime) -> str:
    """When a measured value crossed its limit (the hold time came after)."""
    side = "Över" if direction == "above" else "Under"
    return f"{side} gränsen sedan {local(since)}."


def compose(
    alert: Alert,
    kind: str,
    *,
    device_name: str,
    site_name: str | None,
    place: str | None,
    page_link: str,
    ack_link: Callable[[str], str] | None,
    reminder_no: int = 0,
    previous_severity: str | None = None,
) -> tuple[str, Callable[[str], str]]:
    """Title and a body per recipient (each recipient's acknowledge link is its own)."""
    where = ", ".join(p for p in (site_name, place) if p) or "okänd plats"
    severity = SEVERITY_SV.get(alert.severity, alert.severity)
    head = {
        "fire": severity,
        "change": f"{severity} (var {SEVERITY_SV.get(previous_severity or '', '–')})",
        "reminder": f"Påminnelse {reminder_no}: {severity}",
        "escalate": f"Eskalerat, ej kvitterat: {severity}",
        "after_silence": f"{severity} (efter underhållsfönster)",
    }.get(kind, severity)
    if alert.origin == "external":
        return _external(alert, kind, head, site_name, page_link, ack_link)
    if kind == "resolve":
        title = f"Återställt: {device_name} ({where})"
        acked = (
            f"Kvitterat av {alert.acknowledged_by}."
            if alert.acknowledged_by
            else "Larmet hann inte kvitteras."
        )
        ended = local(alert.resolved_at) if alert.resolved_at else "–"
        text = (
            f"Larmet för {device_name} på {where} är återställt {ended}.\n"
            f"{what(alert)}\nLarmet började {local(alert.started_at)}. {acked}\n"
            f"Larmlista: {page_link}"
        )
        return title, lambda _recipient: text
    title = f"{head}: {device_name} ({where})"

    def body(recipient: str) -> str:
        lines = [
            f"{head} för {device_name} på {where}.",
            what(alert),
            f"Sedan {local(alert.started_at)}.",
        ]
        if ack_link is not None:
            lines.append(f"Kvittera: {ack_link(recipient)}")
        lines.append(f"Larmlista: {page_link}")
        return "\n".join(lines)

    return title, body


def _acked(alert: Alert) -> str:
    if alert.acknowledged_by:
        return f"Kvitterat av {alert.acknowledged_by}."
    return "Larmet hann inte kvitteras."


def _external(
    alert: Alert,
    kind: str,
    head: str,
    site_name: str | None,
    page_link: str,
    ack_link: Callable[[str], str] | None,
) -> tuple[str, Callable[[str], str]]:
    """An alert raised from outside the rules (e-supervision): the caller's sentence leads."""
    summary = (alert.message or alert.rule.replace("_", " ")).splitlines()[0][:120]
    units = [t.partition(":")[2] for t in alert.tags if t.startswith("care_unit:")]
    where = site_name or (f"vårdenhet {', '.join(units)}" if units else "")
    suffix = f" ({where})" if where else ""
    if kind == "resolve":
        ended = local(alert.resolved_at) if alert.resolved_at else "–"
        text = (
            f"Återställt {ended}: {summary}{suffix}.\n"
            f"Larmet började {local(alert.started_at)}. {_acked(alert)}\nLarmlista: {page_link}"
        )
        return f"Återställt: {summary}{suffix}", lambda _recipient: text

    def body(recipient: str) -> str:
        lines = [f"{head}{suffix}.", alert.message or summary, f"Sedan {local(alert.started_at)}."]
        if ack_link is not None:
            lines.append(f"Kvittera: {ack_link(recipient)}")
        lines.append(f"Larmlista: {page_link}")
        return "\n".join(lines)

    return f"{head}: {summary}{suffix}", body
