"""Follow-up of open alerts: reminders, the escalation ladder, and messages a silence held back.

Pure: ``due(alert, now, policy, silenced)`` says what is owed at ``now`` from what the store
remembers (``last_notified_at``, ``reminders_sent``, ``escalation_level``), so after a restart
the follow-up continues where it stopped: no repeated first message, no lost reminder.

Only unacknowledged alerts are followed up; acknowledging stops reminders and escalation (the
ThingsBoard escalation table's cancel-on-ack). An alert first notified while silenced is
announced when the silence ends if it is still unacknowledged (Grafana #50266 is the trap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from alerts.routing import matches
from alerts.store import Alert

__all__ = ["EscalationStep", "FollowUp", "FollowUpPolicy", "due", "escalated_roles"]


@dataclass(frozen=True, slots=True)
class EscalationStep:
    after_s: float  # since the alert started, unacknowledged
    roles: tuple[str, ...]
    match: tuple[str, ...] = ()  # routing tags the alert must match (empty: every alert)


@dataclass(frozen=True, slots=True)
class FollowUpPolicy:
    #: seconds between reminders per severity; 0 or a missing severity: no reminders
    reminder_s: Mapping[str, float] = field(
        default_factory=lambda: {"critical": 900.0, "warning": 3600.0}
    )
    max_reminders: int = 0  # 0: until someone acts
    escalation: Sequence[EscalationStep] = (EscalationStep(600.0, ("oncall",)),)


@dataclass(frozen=True, slots=True)
class FollowUp:
    kind: Literal["fire", "reminder", "escalate"]
    level: int = 0  # escalate: the new escalation level (1 = the first step)
    roles: tuple[str, ...] = ()


def _steps_for(alert: Alert, policy: FollowUpPolicy) -> list[EscalationStep]:
    tags = {*alert.tags, f"severity:{alert.severity}", f"rule:{alert.rule}"}
    if alert.site_id:
        tags.add(f"site:{alert.site_id}")
    return [s for s in policy.escalation if not s.match or matches(s.match, tags)]


def escalated_roles(alert: Alert, policy: FollowUpPolicy) -> tuple[str, ...]:
    """Roles the ladder has reached: reminders and the recovery message go to them too."""
    steps = _steps_for(alert, policy)[: alert.escalation_level]
    return tuple(dict.fromkeys(r for s in steps for r in s.roles))


def due(alert: Alert, now: datetime, policy: FollowUpPolicy, silenced: bool) -> list[FollowUp]:
    if alert.state != "active" or silenced:
        return []
    if alert.last_notified_at is None:
        return [FollowUp("fire")]
    out: list[FollowUp] = []
    steps = _steps_for(alert, policy)
    open_s = (now - alert.started_at).total_seconds()
    level = alert.escalation_level
    while level < len(steps) and open_s >= steps[level].after_s:
        level += 1
    if level > alert.escalation_level:
        out.append(FollowUp("escalate", level, steps[level - 1].roles))
        return out  # the escalation message is this round's reminder
    every = policy.reminder_s.get(alert.severity, 0.0)
    more = policy.max_reminders == 0 or alert.reminders_sent < policy.max_reminders
    if every > 0 and more and (now - alert.last_notified_at).total_seconds() >= every:
        out.append(FollowUp("reminder"))
    return out
