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
    "act_skipped": "Avböjer i natt …",
    "act_visit": "Besök gjort",
    "act_phoned": "Ringt – OK",
    "act_undo_skip": "Ångra avböjd",
    "dlg_save": "Spara",
    "check": "Tillsyn",
    "actor_system": "automatiskt",
    "actor_sensor": "sängsensorn",
    "dlg_cancel": "Avbryt – inget sparas",
    "skip_title": "Den boende avböjer tillsyn",
    "skip_which": "Vilka tillsyner hoppas över?",
    "skip_night": "Alla planerade i natt: {times}",
    "skip_one": "Bara tillsynen {when}",
    "skip_ok": "Hoppa över",
    "skip_says": (
        "En avböjd tillsyn görs inte och räknas inte som missad. Du kan ångra den på tavlan "
        "tills tillsynens tid har passerat."
    ),
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
    "act_skipped": "Declines tonight …",
    "act_visit": "Visit done",
    "act_phoned": "Phoned – OK",
    "act_undo_skip": "Undo declined",
    "dlg_save": "Save",
    "check": "Check",
    "actor_system": "automatically",
    "actor_sensor": "the bed sensor",
    "dlg_cancel": "Cancel – nothing is saved",
    "skip_title": "The resident declines a check",
    "skip_which": "Which checks are skipped?",
    "skip_night": "All planned tonight: {times}",
    "skip_one": "Only the check at {when}",
    "skip_ok": "Skip",
    "skip_says": (
        "A declined check is not made and does not count as missed. You can undo it on the "
        "board until the check's time has passed."
    ),
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
