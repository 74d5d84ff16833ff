"""The words of the web pages in Swedish (default) and English."""

from __future__ import annotations

__all__ = ["LANGS", "format_value", "metric_name", "texts"]

LANGS = ("sv", "en")

_SV = {
    "title": "kommunvakt",
    "start": "Översikt",
    "sites": "Platser",
    "supervision": "Nattillsyn",
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
    "by": "av",
    "by_system": "automatiskt",
    "unacked_resolved": "återställt utan kvittens",
    "alert_time": "Larmtid",
    "what_to_do": "Gör så här:",
    "open_board": "Öppna nattillsynen",
    "warning": "Varning",
    "critical": "Kritiskt",
    "info": "Information",
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
    "sites": "Sites",
    "supervision": "Night checks",
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
    "by": "by",
    "by_system": "automatically",
    "unacked_resolved": "resolved without acknowledgement",
    "alert_time": "Alert time",
    "what_to_do": "What to do:",
    "open_board": "Open the night board",
    "warning": "Warning",
    "critical": "Critical",
    "info": "Information",
    "active": "Active",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "bad_token": "Wrong access token.",
    "language": "Språk: svenska",
    "recent": "Recent alerts",
}


def texts(lang: str) -> dict[str, str]:
    return _EN if lang == "en" else _SV


METRIC_NAMES = {
    "temperature": ("Temperatur", "Temperature"),
    "humidity": ("Luftfuktighet", "Humidity"),
    "battery": ("Batteri", "Battery"),
    "voltage": ("Spänning", "Voltage"),
    "door_open": ("Dörr öppen", "Door open"),
    "water_leak": ("Vattenläcka", "Water leak"),
    "occupancy": ("Närvaro", "Occupancy"),
    "in_bed": ("I sängen", "In bed"),
    "fill_level": ("Fyllnadsgrad", "Fill level"),
    "co2": ("Koldioxid", "CO2"),
    "illuminance": ("Ljus", "Illuminance"),
    "rssi": ("Signal", "Signal"),
    "snr": ("Signal/brus", "SNR"),
    "linkquality": ("Länkkvalitet (Zigbee)", "Link quality (Zigbee)"),
    "alarm_button": ("Larmknapp", "Alarm button"),
    "fall": ("Fall", "Fall"),
    "pressure": ("Lufttryck", "Pressure"),
    "armed": ("Larmat", "Armed"),
    "online": ("Ansluten", "Online"),
    "motion": ("Rörelse", "Motion"),
}
UNIT_DISPLAY = {"Cel": "°C", "%RH": "%", "%EL": "%", "%": "%"}


def metric_name(metric: str, lang: str) -> str:
    names = METRIC_NAMES.get(metric)
    if names is None:
        return metric
    return names[1] if lang == "en" else names[0]


def format_value(value: object, unit: str | None, lang: str) -> str:
    """A value as staff read it: 27,5 °C in Swedish, yes/no for states."""
    if isinstance(value, bool):
        yes_no = ("yes", "no") if lang == "en" else ("ja", "nej")
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, float):
        text = f"{value:g}"
        if lang != "en":
            text = text.replace(".", ",")
    else:
        text = str(value)
    shown = UNIT_DISPLAY.get(unit or "", unit or "")
    return f"{text} {shown}".strip()
