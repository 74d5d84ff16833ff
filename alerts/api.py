"""REST routes of the alerts under ``/api/v1``: alerts and their history, acknowledge, resolve
with a note, silences, rule overrides, the delivery log and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from access.audit import AuditLog
from access.auth import AccessDenied, Principal, RequireUser
from access.deps import Audit
from access.scope import AlertScope, may_see_alert
from alerts.deps import AlertingDep
from alerts.errors import AlertNotFound, RuleConfigError
from alerts.service import Alerting
from alerts.silences import Silence
from alerts.store import Alert
from core.bounds import DbId, Moment, Offset
from core.identity_numbers import FreeText

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["alerts"])


Svc = AlertingDep


def _audit(
    audit: AuditLog, request: Request, user: Principal, action: str, target: str, **details: Any
) -> None:
    client = request.client.host if request.client else None
    audit.record(
        datetime.now(UTC),
        user.name,
        action,
        "alert",
        target,
        outcome="allowed",
        source_ip=client,
        details=details or None,
    )


class AlertPublic(BaseModel):
    id: int
    device_id: str
    rule: str
    origin: str
    metric: str
    severity: str
    state: str
    value: float | None
    threshold: float | None
    site_id: str | None
    message: str | None
    tags: list[str]
    started_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_while_unacknowledged: bool
    last_notified_at: datetime | None
    reminders_sent: int
    escalation_level: int

    @classmethod
    def of(cls, a: Alert) -> AlertPublic:
        return cls(**{f: getattr(a, f) for f in cls.model_fields if f != "tags"}, tags=list(a.tags))


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: FreeText | None = Field(None, max_length=2000)


class SilenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["site", "device"]
    target: str = Field(min_length=1, max_length=64)
    rule: str | None = None
    starts_at: datetime | None = None  # default: now
    ends_at: datetime
    reason: FreeText = Field("", max_length=2000)


class SilenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ends_at: datetime | None = None
    reason: FreeText | None = Field(None, max_length=2000)


class SilencePublic(BaseModel):
    id: int
    scope: str
    target: str
    rule: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, x: Silence) -> SilencePublic:
        return cls(**{f: getattr(x, f) for f in cls.model_fields})


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: str = Field(description="*, type:<type>, site:<site> or device:<device id>")
    rule: str = Field(min_length=1, max_length=100)
    params: dict[str, Any]


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _visible(svc: Alerting, user: Principal, alert_id: int) -> Alert:
    alert = svc.store.get(alert_id)
    if not may_see_alert(user, alert.site_id, alert.tags):
        raise AccessDenied("this alert is outside your sites or care units")
    return alert


@router.get("/alerts", response_model=list[AlertPublic])
def list_alerts(
    svc: Svc,
    user: RequireUser,
    state: Literal["active", "acknowledged", "resolved"] | None = None,
    device_id: str | None = None,
    site_id: str | None = None,
    severity: str | None = None,
    rule: str | None = None,
    origin: Literal["rule", "external"] | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertPublic]:
    found = svc.store.list(
        state,
        device_id,
        limit,
        offset,
        site_id=site_id,
        severity=severity,
        rule=rule,
        origin=origin,
        since=_aware(since) if since else None,
        until=_aware(until) if until else None,
        scope=AlertScope.of(user),  # in SQL: a page holds `limit` alerts this user may see
    )
    return [AlertPublic.of(a) for a in found if may_see_alert(user, a.site_id, a.tags)]


@router.get("/alerts/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: DbId, svc: Svc, user: RequireUser) -> AlertPublic:
    return AlertPublic.of(_visible(svc, user, alert_id))


@router.get("/alerts/{alert_id}/history")
def alert_history(alert_id: DbId, svc: Svc, user: RequireUser) -> list[dict[str, Any]]:
    _visible(svc, user, alert_id)
    return svc.store.transitions(alert_id)


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic)
def acknowledge(
    alert_id: DbId,
    request: Request,
    svc: Svc,
    audit: Audit,
    user: RequireUser,
    body: NoteBody | None = None,
) -> AlertPublic:
    note = body.note if body else None
    _visible(svc, user, alert_id)
    alert = svc.engine.acknowledge(alert_id, user.name, datetime.now(UTC), note)
    _audit(audit, request, user, "alert.acknowledge", str(alert_id), via="api")
    return AlertPublic.of(alert)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertPublic)
def resolve(
    alert_id: DbId, request: Request, svc: Svc, audit: Audit, user: RequireUser, body: NoteBody
) -> AlertPublic:
    _visible(svc, user, alert_id)
    alert = svc.engine.resolve_manually(alert_id, user.name, datetime.now(UTC), body.note)
    _audit(audit, request, user, "alert.resolve", str(alert_id), via="api")
    return AlertPublic.of(alert)


@router.get("/deliveries")
def deliveries(
    svc: Svc,
    user: RequireUser,
    alert_id: DbId | None = None,
    outcome: Literal["sent", "failed", "suppressed", "dropped", "unrouted"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [
        {
            "alert_id": d.alert_id,
            "at": d.at,
            "kind": d.kind,
            "channel": d.channel,
            "recipient": d.recipient,
            "attempt": d.attempt,
            "outcome": d.outcome,
            "ok": d.ok,
            "error": d.error,
            "outbox_id": d.outbox_id,
        }
        for d in svc.outbox.deliveries(alert_id, limit, outcome, scope=AlertScope.of(user))
    ]


@router.get("/deliveries/outbox")
def outbox(
    svc: Svc,
    user: RequireUser,
    state: Literal["pending", "sent", "failed"] | None = None,
    alert_id: DbId | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Messages per channel: pending ones are being retried (``next_attempt_at``)."""
    return [
        {
            "id": i.id,
            "alert_id": i.alert_id,
            "kind": i.kind,
            "channel": i.channel,
            "recipient": i.recipient,
            "state": i.state,
            "attempts": i.attempts,
            "next_attempt_at": i.next_attempt_at,
            "last_error": i.last_error,
            "created_at": i.created_at,
            "sent_at": i.sent_at,
        }
        for i in svc.outbox.items(state, alert_id, limit, scope=AlertScope.of(user))
    ]


@router.get("/silences", response_model=list[SilencePublic])
def list_silences(svc: Svc, user: RequireUser, active: bool = False) -> list[SilencePublic]:
    at = datetime.now(UTC) if active else None
    return [SilencePublic.of(x) for x in svc.silences.list(at) if may_see_silence(svc, user, x)]


def may_see_silence(svc: Alerting, user: Principal, silence: Silence) -> bool:
    """Silences name a site or a device: a site-scoped user sees those of their sites only
    (few rows and no paging, so filtered here rather than in SQL)."""
    return _may_silence(svc, user, silence.scope, silence.target)


def _may_silence(svc: Alerting, user: Principal, scope: str, target: str) -> bool:
    if scope == "site":
        return user.may_see_site(target)
    info = svc.engine.registry.info(target)
    return user.may_see_site(info.site_id if info is not None else None)


def _own_silence(svc: Alerting, user: Principal, silence_id: int) -> Silence:
    """The silence, if the user's site scope covers what it silences; 403 otherwise (one
    site's staff must not pause or end another site's notifications)."""
    silence = svc.silences.get(silence_id)
    if not may_see_silence(svc, user, silence):
        raise HTTPException(403, f"silence {silence_id} is for a site outside your scope")
    return silence


@router.post("/silences", response_model=SilencePublic, status_code=201)
def create_silence(
    body: SilenceCreate, request: Request, svc: Svc, audit: Audit, user: RequireUser
) -> SilencePublic:
    if not _may_silence(svc, user, body.scope, body.target):
        raise HTTPException(403, f"{body.scope} {body.target!r} is outside your scope")
    now = datetime.now(UTC)
    silence = svc.silences.create(
        body.scope,
        body.target,
        _aware(body.starts_at) if body.starts_at else now,
        _aware(body.ends_at),
        body.reason,
        user.name,
        now,
        body.rule,
    )
    _audit(
        audit, request, user, "silence.create", f"{body.scope}:{body.target}", silence=silence.id
    )
    return SilencePublic.of(silence)


@router.get("/silences/{silence_id}", response_model=SilencePublic)
def get_silence(silence_id: DbId, svc: Svc, user: RequireUser) -> SilencePublic:
    return SilencePublic.of(_own_silence(svc, user, silence_id))


@router.patch("/silences/{silence_id}", response_model=SilencePublic)
def update_silence(
    silence_id: DbId,
    body: SilenceUpdate,
    request: Request,
    svc: Svc,
    audit: Audit,
    user: RequireUser,
) -> SilencePublic:
    _own_silence(svc, user, silence_id)
    ends = _aware(body.ends_at) if body.ends_at else None
    silence = svc.silences.update(silence_id, ends, body.reason)
    _audit(audit, request, user, "silence.update", str(silence_id))
    return SilencePublic.of(silence)


@router.delete("/silences/{silence_id}", status_code=204)
def delete_silence(
    silence_id: DbId, request: Request, svc: Svc, audit: Audit, user: RequireUser
) -> Response:
    _own_silence(svc, user, silence_id)
    svc.silences.delete(silence_id)
    _audit(audit, request, user, "silence.delete", str(silence_id))
    return Response(status_code=204)


@router.get("/rules/overrides")
def list_overrides(svc: Svc, _user: RequireUser) -> list[dict[str, Any]]:
    return svc.overrides.list()


@router.put("/rules/overrides")
def put_override(
    body: OverrideBody, request: Request, svc: Svc, audit: Audit, user: RequireUser
) -> dict[str, Any]:
    previous = svc.overrides.layer().get(f"{body.scope}/{body.rule}")
    svc.overrides.put(body.scope, body.rule, body.params, user.name, datetime.now(UTC))
    try:
        svc.engine.check_rules()  # a broken override is refused now, not skipped later
    except RuleConfigError:
        if previous is None:
            svc.overrides.delete(body.scope, body.rule)
        else:
            svc.overrides.put(body.scope, body.rule, previous, user.name, datetime.now(UTC))
        raise
    finally:
        svc.engine.reload_rules()
    _audit(audit, request, user, "rule.override", f"{body.scope}/{body.rule}", params=body.params)
    return {"scope": body.scope, "rule": body.rule, "params": body.params}


@router.delete("/rules/overrides", status_code=204)
def delete_override(
    scope: str, rule: str, request: Request, svc: Svc, audit: Audit, user: RequireUser
) -> Response:
    svc.overrides.delete(scope, rule)
    svc.engine.reload_rules()
    _audit(audit, request, user, "rule.override.delete", f"{scope}/{rule}")
    return Response(status_code=204)


@router.get("/rules/effective")
def effective_rules(device_id: str, svc: Svc, user: RequireUser) -> list[dict[str, Any]]:
    """The rules one device runs, after the catalogue, defaults and every override."""
    info = svc.engine.registry.info(device_id)
    if info is None or not user.may_see_site(info.site_id):
        # outside the caller's sites reads as unknown: no hint that it exists elsewhere
        raise AlertNotFound(f"device {device_id!r} does not exist")
    return [dict(e.spec, roles=list(e.roles)) for e in svc.engine.rules_for(info)]
