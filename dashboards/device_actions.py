"""Pause a device's (or a whole site's) notifications from its page (issue 5: "a technician
servicing a freezer does not page the kitchen"), on a phone, on site: a silence of 1–24 hours
with a reason, and an end button. Rules still run and alerts are still recorded; only notifications
wait (see ``alerts.silences``). Who may: ``alerts.silence`` (policy), within the user's site
scope (checked centrally from ``{device_id}`` / ``{site_id}``); each act is in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from access.audit import AuditLog
from access.auth import web_principal
from access.deps import Audit, Clock
from alerts.deps import AlertingDep
from alerts.errors import RuleConfigError
from alerts.service import Alerting
from core.bounds import DbId
from core.identity_numbers import FreeText
from devices.deps import Registry
from devices.registry import DeviceRegistry

__all__ = ["SILENCE_HOURS", "router"]

router = APIRouter(include_in_schema=False)

#: the lengths offered on the page
SILENCE_HOURS = (1, 2, 4, 8, 24)


@dataclass(frozen=True, slots=True)
class _Services:
    alerting: Alerting
    registry: DeviceRegistry
    audit: AuditLog
    clock: Callable[[], datetime]


def _services(alerting: AlertingDep, registry: Registry, audit: Audit, clock: Clock) -> _Services:
    return _Services(alerting, registry, audit, clock)


Services = Annotated[_Services, Depends(_services)]


def _audit(
    request: Request,
    services: _Services,
    actor: str,
    action: str,
    scope: str,
    target: str,
    **details: object,
) -> None:
    services.audit.record(
        services.clock(),
        actor,
        action,
        scope,
        target,
        source_ip=request.client.host if request.client else None,
        details=details or None,
    )


def _pause(
    request: Request, services: _Services, scope: str, target: str, hours: int, reason: str
) -> Response:
    back = f"/{scope}s/{target}"
    user = web_principal(request)
    if user is None:
        return RedirectResponse(f"/login?next={back}", status_code=303)
    if hours not in SILENCE_HOURS:
        raise HTTPException(422, f"hours: one of {', '.join(map(str, SILENCE_HOURS))}")
    registry = services.registry
    if scope == "device":  # 404 for an unknown device or site
        registry.get(target)
    else:
        registry.get_site(target)
    now = services.clock()
    silences = services.alerting.silences
    made = silences.create(
        scope,
        target,
        now,
        now + timedelta(hours=hours),
        reason.strip() or "Service",
        user.name,
        now,
    )
    _audit(
        request, services, user.name, "silence.create", scope, target, silence=made.id, hours=hours
    )
    return RedirectResponse(f"{back}#silences", status_code=303)


def _end(
    request: Request, services: _Services, scope: str, target: str, silence_id: int
) -> Response:
    back = f"/{scope}s/{target}"
    user = web_principal(request)
    if user is None:
        return RedirectResponse(f"/login?next={back}", status_code=303)
    silences = services.alerting.silences
    silence = silences.get(silence_id)
    if silence.scope != scope or silence.target != target:
        raise HTTPException(404, f"silence {silence_id} is not one of {scope} {target}")
    now = services.clock()
    try:
        silences.update(silence_id, now, None)
    except RuleConfigError:  # it has not begun yet: ending it is removing it
        silences.delete(silence_id)
    _audit(request, services, user.name, "silence.end", scope, target, silence=silence_id)
    return RedirectResponse(f"{back}#silences", status_code=303)


Hours = Annotated[int, Form()]
Reason = Annotated[FreeText, Form(max_length=500)]


@router.post("/devices/{device_id}/silence", response_model=None)
def silence_device(
    request: Request, device_id: str, hours: Hours, services: Services, reason: Reason = ""
) -> Response:
    return _pause(request, services, "device", device_id, hours, reason)


@router.post("/devices/{device_id}/silences/{silence_id}/end", response_model=None)
def end_device_silence(
    request: Request, device_id: str, silence_id: DbId, services: Services
) -> Response:
    return _end(request, services, "device", device_id, silence_id)


@router.post("/sites/{site_id}/silence", response_model=None)
def silence_site(
    request: Request, site_id: str, hours: Hours, services: Services, reason: Reason = ""
) -> Response:
    """The whole site: a fire-alarm test, every freezer of a kitchen defrosted at once."""
    return _pause(request, services, "site", site_id, hours, reason)


@router.post("/sites/{site_id}/silences/{silence_id}/end", response_model=None)
def end_site_silence(
    request: Request, site_id: str, silence_id: DbId, services: Services
) -> Response:
    return _end(request, services, "site", site_id, silence_id)
