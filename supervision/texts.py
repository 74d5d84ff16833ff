"""Words of the night board, Swedish first (English selectable like the other pages)."""

from __future__ import annotations

from core.i18n import texts as base_texts
from supervision.board import RUNG_SV, STATUS_EN, STATUS_SV

__all__ = ["board_texts"]

_SV = {
    "supervision": "Nattillsyn",
    "night_of": "Natten",
    "live": "Uppdateras automatiskt",
    "offline": "Ingen kontakt med servern – försöker igen …",
    "units": "Enheter",
    "no_units": "Du är inte knuten till någon enhet.",
    "no_checks": "Inga tillsyner i natt.",
    "group_deviation": "Avvikelser",
    "group_due": "Dags nu",
    "group_upcoming": "Kommande",
    "group_done": "Klara",
    "act_ok": "Sedd – OK",
    "act_not_seen": "Ej sedd",
    "act_abnormal": "Avvikelse",
    "act_skipped": "Avböjer i natt",
    "act_visit": "Besök gjort",
    "recheck": "ny kontroll",
    "history": "Historik",
    "time": "Tid",
    "who": "Vem",
    "note": "Anteckning",
    "method_camera": "kamera",
    "method_sensor": "sängsensor",
    "rung": "nästa steg",
    "ask_note": "Anteckning (frivillig, utan namn eller personnummer):",
    "bad_note": "Anteckningen ser ut att innehålla ett personnummer. Skriv den utan.",
    "timing_early": "Tidigt",
    "timing_late": "Sent",
}
_EN = {
    "supervision": "Night checks",
    "night_of": "Night of",
    "live": "Updates automatically",
    "offline": "No contact with the server – retrying …",
    "units": "Units",
    "no_units": "You are not assigned to any care unit.",
    "no_checks": "No checks tonight.",
    "group_deviation": "Deviations",
    "group_due": "Due now",
    "group_upcoming": "Upcoming",
    "group_done": "Done",
    "act_ok": "Seen – OK",
    "timing_early": "Early",
    "timing_late": "Late",
    "act_not_seen": "Not seen",
    "act_abnormal": "Something wrong",
    "act_skipped": "Declines tonight",
    "act_visit": "Visit done",
    "recheck": "re-check",
    "history": "History",
    "time": "Time",
    "who": "Who",
    "note": "Note",
    "method_camera": "camera",
    "method_sensor": "bed sensor",
    "rung": "next step",
    "ask_note": "Note (optional, no names or identity numbers):",
    "bad_note": "The note looks like it holds an identity number. Write it without.",
}
_RUNG_EN = {"phone": "phone", "visit": "visit"}


def board_texts(lang: str) -> dict[str, object]:
    base: dict[str, object] = dict(base_texts(lang))
    if lang == "en":
        return {**base, **_EN, "status": STATUS_EN, "rungs": _RUNG_EN}
    return {**base, **_SV, "status": STATUS_SV, "rungs": RUNG_SV}
