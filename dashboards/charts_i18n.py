"""The words of the chart and record pages, Swedish by default (``texts`` keeps the shell's)."""

from __future__ import annotations

__all__ = ["words"]

_SV = {
    "history": "Historik",
    "site": "Plats",
    "sites": "Platser",
    "no_sites": "Inga platser som du har behörighet till.",
    "range": "Period",
    "legend_threshold": "Larmgräns",
    "legend_limit": "Gräns (egenkontroll)",
    "legend_alert": "Larm",
    "legend_door": "Dörr öppen",
    "legend_silent": "Inga mätvärden",
    "alerts_in_range": "Larm under perioden",
    "no_alerts_in_range": "Inga larm under perioden.",
    "started": "Började",
    "resolved_at": "Återställt",
    "ongoing": "pågår",
    "not_acked": "ej kvitterat",
    "from_alert": "Larm",
    "no_data": "Inga mätvärden under perioden.",
    "overview": "Alla sensorer",
    "daily_record": "Temperaturlogg",
    "record_title": "Temperaturlogg (egenkontroll)",
    "record_note": (
        "Dygn enligt svensk tid: vid sommartidens slut har dygnet 25 timmar, vid dess början 23. "
        "Tid över gräns och dörr öppen räknas från sensorns mätvärden; när sensorn var tyst "
        'räknas ingenting, och ett dygn utan mätvärden står som "ingen data" (inte 0). '
        '"<1 !": över gränsen kortare än en minut.'
    ),
    "no_record_devices": "Inga frysar eller kylar på platsen.",
    "date": "Datum",
    "hours": "Tim",
    "readings": "Antal",
    "min": "Min",
    "max": "Max",
    "mean": "Medel",
    "above": "Över gräns (min)",
    "no_data_day": "ingen data",
    "silent_since": "Inga mätvärden sedan",
    "data_for": "data",
    "door_min": "Dörr öppen (min)",
    "limit": "gräns",
    "prev": "Föregående månad",
    "next": "Nästa månad",
    "ok": "OK",
    "silent": "Tyst",
    "unknown": "Inga data",
    "warning": "Varning",
    "critical": "Kritiskt",
    "freezer": "Frys",
    "fridge": "Kyl",
    "silences": "Pausade notiser",
    "silence_help": (
        "Under service: larmen registreras som vanligt, men ingen får notiser förrän pausen "
        "är slut."
    ),
    "silence_for": "Pausa notiser",
    "silence_reason": "Orsak",
    "silence_reason_ph": "t.ex. avfrostning, service",
    "silence_none": "Inga pausade notiser.",
    "silence_until": "till",
    "silence_end": "Avsluta pausen",
    "silence_site": "hela platsen",
}
_EN = {
    **_SV,
    "history": "History",
    "site": "Site",
    "sites": "Sites",
    "no_sites": "No sites you have access to.",
    "range": "Range",
    "legend_threshold": "Alert threshold",
    "legend_limit": "Limit (self-monitoring)",
    "legend_alert": "Alert",
    "legend_door": "Door open",
    "legend_silent": "No readings",
    "alerts_in_range": "Alerts in this range",
    "no_alerts_in_range": "No alerts in this range.",
    "started": "Started",
    "resolved_at": "Resolved",
    "ongoing": "ongoing",
    "not_acked": "not acknowledged",
    "from_alert": "Alert",
    "no_data": "No readings in this range.",
    "overview": "All sensors",
    "daily_record": "Temperature record",
    "record_title": "Daily temperature record (self-monitoring)",
    "record_note": (
        "Days in Swedish time: the day summer time ends has 25 hours, the day it starts 23. "
        "Time above the limit and door-open time come from the sensor's readings; while the "
        'sensor was silent nothing is counted, and a day without readings says "no data" '
        '(not 0). "<1 !": above the limit for less than a minute.'
    ),
    "no_record_devices": "No freezers or fridges at this site.",
    "date": "Date",
    "hours": "Hours",
    "readings": "Readings",
    "mean": "Mean",
    "above": "Above limit (min)",
    "no_data_day": "no data",
    "silent_since": "No readings since",
    "data_for": "data for",
    "door_min": "Door open (min)",
    "limit": "limit",
    "prev": "Previous month",
    "next": "Next month",
    "silences": "Paused notifications",
    "silence_help": (
        "During service: alerts are recorded as usual, but nobody is notified until the pause ends."
    ),
    "silence_for": "Pause notifications",
    "silence_reason": "Reason",
    "silence_reason_ph": "e.g. defrosting, service",
    "silence_none": "No paused notifications.",
    "silence_until": "until",
    "silence_end": "End the pause",
    "silence_site": "the whole site",
    "silent": "Silent",
    "unknown": "No data",
    "warning": "Warning",
    "critical": "Critical",
    "freezer": "Freezer",
    "fridge": "Fridge",
}


def words(lang: str) -> dict[str, str]:
    return _EN if lang == "en" else _SV
