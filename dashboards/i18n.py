"""The words of the web pages in Swedish (default) and English."""

from __future__ import annotations

__all__ = ["LANGS", "texts"]

LANGS = ("sv", "en")

_SV = {
    "title": "kommunvakt",
    "start": "Översikt",
    "alerts": "Larm",
    "devices": "Enheter",
    "login": "Logga in",
    "logout": "Logga ut",
    "token": "Åtkomstnyckel",
    "active_alerts": "Aktiva larm",
    "no_alerts": "Inga aktiva larm.",
    "no_devices": "Inga enheter registrerade ännu.",
    "device": "Enhet",
    "type": "Typ",
    "place": "Plats",
    "latest": "Senaste värden",
    "severity": "Allvar",
    "value": "Värde",
    "threshold": "Gräns",
    "since": "Sedan",
    "state": "Status",
    "ack": "Kvittera",
    "acked_by": "Kvitterat av",
    "warning": "Varning",
    "critical": "Kritiskt",
    "active": "Aktivt",
    "acknowledged": "Kvitterat",
    "resolved": "Återställt",
    "bad_token": "Fel åtkomstnyckel.",
    "language": "Language: English",
    "recent": "Senaste larm",
}
_EN = {
    "title": "kommunvakt",
    "start": "Overview",
    "alerts": "Alerts",
    "devices": "Devices",
    "login": "Sign in",
    "logout": "Sign out",
    "token": "Access token",
    "active_alerts": "Active alerts",
    "no_alerts": "No active alerts.",
    "no_devices": "No devices registered yet.",
    "device": "Device",
    "type": "Type",
    "place": "Place",
    "latest": "Latest values",
    "severity": "Severity",
    "value": "Value",
    "threshold": "Threshold",
    "since": "Since",
    "state": "State",
    "ack": "Acknowledge",
    "acked_by": "Acknowledged by",
    "warning": "Warning",
    "critical": "Critical",
    "active": "Active",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "bad_token": "Wrong access token.",
    "language": "Språk: svenska",
    "recent": "Recent alerts",
}


def texts(lang: str) -> dict[str, str]:
    return _EN if lang == "en" else _SV
