"""The status machine of one night check: pure functions of a state, an event and a time.

::

    scheduled ──ok──────────────────────────────► ok
        │ ──not_seen──► not_seen ──► recheck_pending ──ok──► resolved
        │                                  │ ──not_seen / nothing by re-check + grace──► escalated
        │ ──abnormal (skips the re-check)─────────────────────────────────────────────► escalated
        │ ──nothing by due + grace──► missed ──visit──► resolved
        │ ──device offline / camera unreachable──► technical_failure ──visit──► resolved
        │ ──resident away (hospital, travel)──► suspended
        │ ──resident's own choice──► skipped_by_resident
        ├──consent withdrawn / schedule ended──► cancelled
    suspended ──absence ended early──► scheduled
    skipped_by_resident ──taken back (undo on the board)──► scheduled
    escalated ──next rung after step minutes──► escalated (rung + 1) ──visit / ok──► resolved

A person closes a scheduled check (``ok``, ``visit``) only inside its window, from ``early``
before its time to the end of its grace, or with a stated ``timing_reason``: the step is then
marked ``early`` or ``late`` and the night board shows the reason. Findings that call for
attention (``not_seen``, ``abnormal``) are taken at any time, and so is the resident's own
``skipped`` (often said in the evening, and shown as declined).

``not_seen`` is stored as its own transition and passes on at once to ``recheck_pending``:
the finding and the plan to look again are two facts with two times. ``cancelled`` is ours
(not in DOMAIN §7): a withdrawn consent must stop checks without calling them missed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "ALERTING",
    "CLOSED",
    "OPEN",
    "CheckState",
    "Outcome",
    "Policy",
    "Step",
    "apply",
    "refusal",
    "sensor_finding",
    "tick",
    "timing_of",
]

Status = Literal[
    "scheduled",
    "ok",
    "not_seen",
    "recheck_pending",
    "escalated",
    "resolved",
    "missed",
    "technical_failure",
    "suspended",
    "skipped_by_resident",
    "cancelled",
]
OutcomeKind = Literal[
    "ok",
    "not_seen",
    "abnormal",
    "technical_failure",
    "visit",
    "skipped",
    "suspended",
    "resume",
    "cancel",
]
Source = Literal["sensor", "camera", "manual", "system"]
Timing = Literal["early", "late"]

#: outcomes by which a person closes a scheduled check: only inside its window, or with a reason
_CLOSING_MANUAL = frozenset({"ok", "visit"})

#: statuses that still wait for something (the clock looks at these)
OPEN: frozenset[str] = frozenset({"scheduled", "recheck_pending", "escalated"})
#: statuses that need a person (raise an alert; a visit resolves them)
ALERTING: frozenset[str] = frozenset(
    {"recheck_pending", "escalated", "missed", "technical_failure"}
)
#: nothing more happens to these
CLOSED: frozenset[str] = frozenset(
    {"ok", "resolved", "suspended", "skipped_by_resident", "cancelled"}
)


@dataclass(frozen=True, slots=True)
class Policy:
    grace: timedelta = timedelta(minutes=15)
    recheck: timedelta = timedelta(minutes=15)
    ladder: tuple[str, ...] = ("phone", "visit")
    step: timedelta = timedelta(minutes=10)
    early: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class CheckState:
    status: Status
    due_at: datetime
    recheck_at: datetime | None = None
    escalated_at: datetime | None = None
    rung: int = 0  # index into the ladder while escalated


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    at: datetime
    actor: str
    source: Source
    note: str | None = None
    timing_reason: str | None = None  # why a person closes a check outside its window


@dataclass(frozen=True, slots=True)
class Step:
    """One stored transition."""

    from_status: str
    to_status: str
    at: datetime
    actor: str
    source: Source
    note: str | None = None
    rung: str | None = None  # the escalation rung taken ("phone", "visit")
    timing: Timing | None = None
    timing_reason: str | None = None


def _go(
    state: CheckState, to: Status, at: datetime, actor: str, source: Source, note: str | None
) -> tuple[CheckState, Step]:
    return replace(state, status=to), Step(state.status, to, at, actor, source, note)


def _escalate(
    state: CheckState, at: datetime, actor: str, source: Source, note: str | None, policy: Policy
) -> tuple[CheckState, list[Step]]:
    new = replace(state, status="escalated", escalated_at=at, rung=0, recheck_at=None)
    rung = policy.ladder[0] if policy.ladder else "visit"
    return new, [Step(state.status, "escalated", at, actor, source, note, rung)]


def timing_of(state: CheckState, outcome: Outcome, policy: Policy) -> Timing | None:
    """``early`` or ``late`` when a person closes a scheduled check outside its window."""
    if state.status != "scheduled" or outcome.source != "manual":
        return None
    if outcome.kind not in _CLOSING_MANUAL:
        return None
    if outcome.at < state.due_at - policy.early:
        return "early"
    if outcome.at > state.due_at + policy.grace:
        return "late"
    return None


def apply(state: CheckState, outcome: Outcome, policy: Policy) -> tuple[CheckState, list[Step]]:
    """A finding or an action. Returns the new state and the transitions (none: refused).

    A refused event leaves the state as it was; the caller reports why (``refusal``).
    """
    s, o = state.status, outcome
    if o.kind == "cancel":
        if s in ("scheduled", "recheck_pending"):
            new, step = _go(state, "cancelled", o.at, o.actor, o.source, o.note)
            return new, [step]
        return state, []
    if o.kind == "suspended":
        if s == "scheduled":
            new, step = _go(state, "suspended", o.at, o.actor, o.source, o.note)
            return new, [step]
        return state, []
    if o.kind == "resume":
        # back from an absence, or a declined check taken back (a tap by mistake, or the
        # resident changed their mind): the check waits for its time again
        if s in ("suspended", "skipped_by_resident"):
            new, step = _go(state, "scheduled", o.at, o.actor, o.source, o.note)
            return new, [step]
        return state, []
    if o.kind == "skipped":
        if s == "scheduled":
            new, step = _go(state, "skipped_by_resident", o.at, o.actor, o.source, o.note)
            return new, [step]
        return state, []
    if s == "scheduled":
        timing = timing_of(state, o, policy)
        if timing is not None and not o.timing_reason:
            return state, []
        if o.kind in ("ok", "visit"):
            note = o.note or ("besök" if o.kind == "visit" else None)
            new, step = _go(state, "ok", o.at, o.actor, o.source, note)
            reason = o.timing_reason if timing is not None else None
            return new, [replace(step, timing=timing, timing_reason=reason)]
        if o.kind == "not_seen":
            seen = Step(s, "not_seen", o.at, o.actor, o.source, o.note)
            again = o.at + policy.recheck
            new = replace(state, status="recheck_pending", recheck_at=again)
            plan = Step("not_seen", "recheck_pending", o.at, "system", "system", None)
            return new, [seen, plan]
        if o.kind == "abnormal":
            return _escalate(state, o.at, o.actor, o.source, o.note, policy)
        if o.kind == "technical_failure":
            new, step = _go(state, "technical_failure", o.at, o.actor, o.source, o.note)
            return new, [step]
        return state, []
    if s == "recheck_pending":
        if o.kind in ("ok", "visit"):
            new, step = _go(state, "resolved", o.at, o.actor, o.source, o.note)
            return replace(new, recheck_at=None), [step]
        if o.kind in ("not_seen", "abnormal"):
            return _escalate(state, o.at, o.actor, o.source, o.note, policy)
        if o.kind == "technical_failure":
            new, step = _go(state, "technical_failure", o.at, o.actor, o.source, o.note)
            return replace(new, recheck_at=None), [step]
        return state, []
    if s in ("escalated", "missed", "technical_failure"):
        # Only a person closes these: a visit, or a look that found the resident well
        # (a late camera look counts; a sensor alone does not end an escalation).
        if o.kind == "visit" or (o.kind == "ok" and o.source in ("camera", "manual")):
            new, step = _go(state, "resolved", o.at, o.actor, o.source, o.note)
            return new, [step]
        return state, []
    return state, []


def tick(state: CheckState, now: datetime, policy: Policy) -> tuple[CheckState, list[Step]]:
    """What the clock alone changes: a window that ran out, an escalation rung that is due."""
    s = state.status
    if s == "scheduled" and now >= state.due_at + policy.grace:
        new, step = _go(state, "missed", state.due_at + policy.grace, "system", "system", None)
        return new, [step]
    if s == "recheck_pending" and state.recheck_at is not None:
        deadline = state.recheck_at + policy.grace
        if now >= deadline:
            return _escalate(state, deadline, "system", "system", "ingen ny kontroll", policy)
    if s == "escalated" and state.escalated_at is not None:
        nxt = state.rung + 1
        if nxt < len(policy.ladder) and now >= state.escalated_at + policy.step * nxt:
            at = state.escalated_at + policy.step * nxt
            new = replace(state, rung=nxt)
            return new, [
                Step("escalated", "escalated", at, "system", "system", None, policy.ladder[nxt])
            ]
    return state, []


def sensor_finding(
    in_bed: tuple[bool, datetime] | None,
    last_seen: datetime | None,
    now: datetime,
    offline_after: timedelta,
    device_active: bool,
) -> tuple[OutcomeKind, str]:
    """What a bed sensor says at a check: in bed, not in bed, or no data (a failure).

    A sensor that is not active in the registry, or silent for ``offline_after``, is offline:
    nobody knows whether the resident is in bed, which is a technical failure (a visit).
    """
    if not device_active:
        return "technical_failure", "sensorn är inte i drift"
    if last_seen is None or now - last_seen > offline_after:
        return "technical_failure", "ingen data från sensorn"
    if in_bed is None:
        return "technical_failure", "sensorn har inte rapporterat sängläge"
    return ("ok", "i sängen") if in_bed[0] else ("not_seen", "inte i sängen")


def refusal(state: CheckState, outcome: Outcome, policy: Policy | None = None) -> str:
    """Why ``apply`` refused an outcome, in words for the person who tried."""
    timing = timing_of(state, outcome, policy) if policy is not None else None
    if policy is not None and timing is not None and not outcome.timing_reason:
        early = int(policy.early.total_seconds() // 60)
        grace = int(policy.grace.total_seconds() // 60)
        return (
            f"the check is due at {state.due_at.isoformat()}; an outcome more than {early} min "
            f"before it or {grace} min after it is {timing}: give the reason (timing_reason)"
        )
    return f"a check that is {state.status} does not take the outcome {outcome.kind!r}"
