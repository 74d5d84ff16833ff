"""Pause a device's notifications from its page (issue 5: "a technician servicing a freezer
does not page the kitchen"), on a phone, on site: a device silence of 1–24 hours with a
reason, and an end button. Rules still run and alerts are still recorded; only notifications
wait (see ``alerts.silences``). Who may: ``alerts.silence`` (policy), within the device's site
scope (checked centrally from ``{device_id}``); each act is in the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from access.auth import web_principal
from alerts.errors import RuleConfigError
from dashboards.charts_api import now_of

__all__ = ["SILENCE_HOURS", "router"]

router = APIRouter(include_in_schema=False)

#: the lengths offered on the page
SILENCE_HOURS = (1, 2, 4, 8, 24)


def _audit(request: Request, actor: str, action: str, target: str, **details: object) -> None:
    platform = request.app.state.platform
    platform.audit.record(
        now_of(request),
        actor,
        action,
        "device",
        target,
        source_ip=request.client.host if request.client else None,
        details=details or None,
    )


@router.post("/devices/{device_id}/silence", response_model=None)
def silence_device(
    request: Request,
    device_id: str,
    hours: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    user = web_principal(request)
    if user is None:
        return RedirectResponse(f"/login?next=/devices/{device_id}", status_code=303)
    if hours not in SILENCE_HOURS:
        raise HTTPException(422, f"hours: one of {', '.join(map(str, SILENCE_HOURS))}")
    request.app.state.registry.get(device_id)  # 404 for an unknown device
    now = now_of(request)
    why = reason.strip() or "Service"
    silences = request.app.state.platform.alerting.silences
    made = silences.create(
        "device", device_id, now, now + timedelta(hours=hours), why, user.name, now
    )
    _audit(request, user.name, "silence.create", device_id, silence=made.id, hours=hours)
    return RedirectResponse(f"/devices/{device_id}#silences", status_code=303)


@router.post("/devices/{device_id}/silences/{silence_id}/end", response_model=None)
def end_silence(request: Request, device_id: str, silence_id: int) -> Response:
    user = web_principal(request)
    if user is None:
        return RedirectResponse(f"/login?next=/devices/{device_id}", status_code=303)
    silences = request.app.state.platform.alerting.silences
    silence = silences.get(silence_id)
    if silence.scope != "device" or silence.target != device_id:
        raise HTTPException(404, f"silence {silence_id} is not one of {device_id}")
    now = now_of(request)
    try:
        silences.update(silence_id, now, None)
    except RuleConfigError:  # it has not begun yet: ending it is removing it
        silences.delete(silence_id)
    _audit(request, user.name, "silence.end", device_id, silence=silence_id)
    return RedirectResponse(f"/devices/{device_id}#silences", status_code=303)
