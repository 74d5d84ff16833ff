"""Alerts of e-supervision: which transition raises what, in words that carry no more than the
pseudonymous label, routed to the night staff of the resident's care unit.

The service talks to an ``AlertSink``; ``gateway.supervision_wiring`` binds it to the alerts
engine's ``raise_external`` / ``resolve_external`` (issue 5, /work/notes/alerts-api.md). The
alert's source is the check (``sv-check-<id>``: an id, no personal data) and its rule the
reason: ``supervision_not_seen`` (warning), ``supervision_escalated_<rung>`` (critical, one per
rung of the ladder, so each rung notifies), ``supervision_missed`` and
``supervision_technical_failure`` (critical). When a check moves on, the alert of its former
status is resolved and the next one raised; when it is resolved, its alert is resolved with the
staff member as actor. Tags route it to ``care_unit:<id>`` + ``role:night_staff``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "ALERT_KINDS",
    "AlertSink",
    "LogSink",
    "SupervisionAlert",
    "alert_for",
    "alert_key",
    "alert_rule",
]

log = logging.getLogger(__name__)

#: to-status → (alert rule, severity); "escalated" gets the rung appended
ALERT_KINDS: dict[str, tuple[str, str]] = {
    "recheck_pending": ("supervision_not_seen", "warning"),
    "escalated": ("supervision_escalated", "critical"),
    "missed": ("supervision_missed", "critical"),
    "technical_failure": ("supervision_technical_failure", "critical"),
}

_RUNG_SV = {"phone": "ring den boende", "visit": "gör ett besök"}


@dataclass(frozen=True, slots=True)
class SupervisionAlert:
    key: str  # the source: one per check ("sv-check-12")
    kind: str  # the rule: supervision_not_seen | _escalated_<rung> | _missed | _technical_failure
    severity: str  # warning | critical
    care_unit_id: str
    resident_id: str
    check_id: int
    title: str
    body: str
    at: datetime
    link: str


class AlertSink(Protocol):
    def raise_alert(self, alert: SupervisionAlert) -> None: ...

    def resolve_alert(
        self, key: str, rule: str, at: datetime, actor: str, note: str | None = None
    ) -> None: ...

    def erase_alerts(self, keys: list[str]) -> int:
        """Erase every alert (and notification) of these keys, telling nobody."""
        ...


class LogSink:
    """Used when no alerts machinery is wired (unit tests of the service): logs ids only."""

    def __init__(self) -> None:
        self.raised: list[SupervisionAlert] = []
        self.resolved: list[tuple[str, str]] = []

    def raise_alert(self, alert: SupervisionAlert) -> None:
        self.raised.append(alert)
        log.warning(
            "supervision alert %s (%s) for check %s", alert.kind, alert.severity, alert.check_id
        )

    def resolve_alert(
        self, key: str, rule: str, at: datetime, actor: str, note: str | None = None
    ) -> None:
        self.resolved.append((key, rule))

    def erase_alerts(self, keys: list[str]) -> int:
        gone = [a for a in self.raised if a.key in set(keys)]
        self.raised = [a for a in self.raised if a.key not in set(keys)]
        return len(gone)


def alert_key(check_id: int) -> str:
    return f"sv-check-{check_id}"


def alert_rule(status: str, rung: str | None) -> str | None:
    """The alert rule of a check in ``status`` (None: that status raises nothing)."""
    kind = ALERT_KINDS.get(status)
    if kind is None:
        return None
    if status == "escalated":
        step = "".join(ch if ch.isalnum() else "_" for ch in (rung or "visit").lower())
        return f"{kind[0]}_{step}"[:100]
    return kind[0]


def alert_for(
    to_status: str,
    *,
    check_id: int,
    resident_id: str,
    label: str,
    care_unit_id: str,
    planned: str,
    at: datetime,
    at_local: str,
    recheck_local: str | None,
    rung: str | None,
    base_url: str,
) -> SupervisionAlert | None:
    """The alert a transition into ``to_status`` raises, or None. Swedish; label only."""
    kind_severity = ALERT_KINDS.get(to_status)
    if kind_severity is None:
        return None
    _kind, severity = kind_severity
    kind = alert_rule(to_status, rung) or _kind
    if to_status == "recheck_pending":
        title = f"Nattillsyn: {label} ej sedd kl {planned}"
        body = f"{label} syntes inte vid tillsynen kl {planned} ({at_local})."
        if recheck_local:
            body += f" Ny kontroll kl {recheck_local}."
    elif to_status == "escalated":
        what = _RUNG_SV.get(rung or "", rung or "gör ett besök")
        title = f"Nattillsyn: {label} – {what}"
        body = f"Tillsynen kl {planned} är eskalerad ({at_local}): {what}."
    elif to_status == "missed":
        title = f"Nattillsyn: tillsynen kl {planned} för {label} blev inte gjord"
        body = (
            f"Ingen tillsyn registrerades för {label} inom tiden för kl {planned}. Gör ett besök."
        )
    else:
        title = f"Nattillsyn: tekniskt fel hos {label}"
        body = (
            f"Tillsynen kl {planned} kunde inte göras ({at_local}): sensorn eller kameran svarar "
            "inte. Gör ett besök."
        )
    link = f"{base_url.rstrip('/')}/supervision?unit={care_unit_id}#check-{check_id}"
    body += f"\nEnhet: {care_unit_id}. {link}"
    return SupervisionAlert(
        alert_key(check_id),
        kind,
        severity,
        care_unit_id,
        resident_id,
        check_id,
        title,
        body,
        at,
        link,
    )
