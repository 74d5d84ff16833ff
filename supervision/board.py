"""The night board's content: a pure function of residents, their checks of the night and now.

Per resident one row with tonight's checks; rows with a deviation (a check that needs a
person) first, then a check due now, then upcoming ones, then those whose night is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from supervision.checks import Check
from supervision.machine import ALERTING
from supervision.residents import Resident

__all__ = ["STATUS_SV", "BoardCheck", "BoardRow", "build_board"]

STATUS_SV = {
    "scheduled": "Planerad",
    "due": "Dags nu",
    "ok": "OK",
    "not_seen": "Ej sedd",
    "recheck_pending": "Ej sedd – ny kontroll",
    "escalated": "Eskalerad",
    "resolved": "Åtgärdad",
    "missed": "Missad",
    "technical_failure": "Tekniskt fel – besök",
    "suspended": "Frånvarande",
    "skipped_by_resident": "Avböjd",
    "cancelled": "Avbruten",
}
STATUS_EN = {
    "scheduled": "Scheduled",
    "due": "Due now",
    "ok": "OK",
    "not_seen": "Not seen",
    "recheck_pending": "Not seen – re-check",
    "escalated": "Escalated",
    "resolved": "Resolved",
    "missed": "Missed",
    "technical_failure": "Technical failure – visit",
    "suspended": "Away",
    "skipped_by_resident": "Declined",
    "cancelled": "Cancelled",
}
RUNG_SV = {"phone": "ring", "visit": "besök"}

_RANK = {"deviation": 0, "due": 1, "upcoming": 2, "done": 3}


@dataclass(frozen=True, slots=True)
class BoardCheck:
    id: int
    planned: str
    local: str  # the wall-clock time it is really due ("03:00" on the March night)
    status: str
    shown: str  # status or "due" (scheduled and inside its window)
    method: str
    rung: str | None
    recheck_local: str | None
    actions: tuple[str, ...]
    timing: str | None = None  # closed early/late by a person, with the reason they gave
    timing_reason: str | None = None


@dataclass(frozen=True, slots=True)
class BoardRow:
    resident_id: str
    label: str
    group: str  # deviation | due | upcoming | done
    checks: tuple[BoardCheck, ...]


def _actions(status: str, shown: str, rung: str | None, undoable: bool) -> tuple[str, ...]:
    if status == "scheduled":
        return ("ok", "not_seen", "abnormal", "skipped") if shown == "due" else ("skipped",)
    if status == "recheck_pending":
        return ("ok", "not_seen", "abnormal")
    if status == "escalated" and rung == "phone":
        # the ladder says ring first: a call that found the resident well closes it too
        return ("phoned", "visit")
    if status in ("escalated", "missed", "technical_failure"):
        return ("visit",)
    if status == "skipped_by_resident" and undoable:
        return ("undo_skip",)
    return ()


def build_board(
    residents: Iterable[Resident],
    checks: Iterable[Check],
    now: datetime,
    *,
    grace: timedelta,
    early: timedelta,
    ladder: tuple[str, ...],
    zone: ZoneInfo,
) -> list[BoardRow]:
    by_resident: dict[str, list[Check]] = {}
    for c in checks:
        by_resident.setdefault(c.resident_id, []).append(c)
    keyed: list[tuple[tuple[int, datetime, str], BoardRow]] = []
    for r in residents:
        items = []
        group = "done"
        for c in sorted(by_resident.get(r.id, []), key=lambda c: c.due_at):
            shown = c.status
            if c.status == "scheduled" and c.due_at - early <= now:
                shown = "due"
            rung = ladder[c.rung] if c.status == "escalated" and c.rung < len(ladder) else None
            items.append(
                BoardCheck(
                    c.id,
                    c.planned,
                    c.due_at.astimezone(zone).strftime("%H:%M"),
                    c.status,
                    shown,
                    c.method,
                    rung,
                    c.recheck_at.astimezone(zone).strftime("%H:%M") if c.recheck_at else None,
                    # a declined check may be taken back while its window is still open
                    _actions(c.status, shown, rung, now < c.due_at + grace),
                    c.timing,
                    c.timing_reason,
                )
            )
            if c.status in ALERTING:
                group = "deviation"
            elif shown == "due" and group != "deviation":
                group = "due"
            elif c.status == "scheduled" and group == "done":
                group = "upcoming"
        if not items:
            continue
        mine = sorted(by_resident[r.id], key=lambda c: c.due_at)
        pending = [c.due_at for c in mine if c.status in ALERTING or c.status == "scheduled"]
        sort_at = pending[0] if pending else mine[-1].due_at
        keyed.append(
            ((_RANK[group], sort_at, r.label), BoardRow(r.id, r.label, group, tuple(items)))
        )
    keyed.sort(key=lambda pair: pair[0])
    return [row for _key, row in keyed]
