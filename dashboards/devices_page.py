"""``/devices`` for technicians, on a phone on site: search, register, claim, health at a glance.

Server-rendered forms (no script); both forms post to ``/devices`` with an ``action`` field, so
no path under ``/devices/…`` is taken (``/devices/{id}`` is the device page of issue 10).
New MQTT credentials are rendered once in the response and never put in a URL or a log.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from access.auth import web_principal
from access.scope import visible_sites
from dashboards.web import render
from devices.bulk import parse_refs
from devices.catalogue import CATALOGUE
from devices.claim import claim_unknown
from devices.dynsec import DynsecError
from devices.errors import RegistryError
from devices.health import device_health
from devices.mqtt_acl import CredentialIssuer
from devices.quarantine import shown_to
from devices.registry import DeviceRegistry
from devices.schemas import ClaimRequest, DeviceCreate, DevicePublic, MqttCredentials

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
SHOWN = 200  # rows on one page; search narrows it down

_SV = {
    "heading": "Enheter",
    "search": "Sök (id, namn, plats, DevEUI …)",
    "search_button": "Sök",
    "all": "alla",
    "online": "i drift",
    "offline": "tyst",
    "never_seen": "aldrig hörd",
    "register": "Registrera enhet",
    "claim": "Okända enheter",
    "claim_button": "Ta i bruk",
    "no_unknown": "Gatewayen har inte hört några okända enheter.",
    "id": "Enhets-id",
    "name": "Namn",
    "type": "Typ",
    "site": "Plats",
    "place": "Rum/plats",
    "ref": "Extern referens (t.ex. chirpstack:A84041…)",
    "issue_creds": "Skapa eget MQTT-konto för enheten",
    "save": "Registrera",
    "health": "Status",
    "last_seen": "Senast hörd",
    "battery": "Batteri",
    "signal": "Signal",
    "state": "Läge",
    "active": "aktiv",
    "maintenance": "underhåll",
    "retired": "avvecklad",
    "registered": "Enheten {id} är registrerad.",
    "claimed": "Enheten {id} är tagen i bruk; {n} mätvärden från kön sparades.",
    "creds": "MQTT-konto (visas bara nu, skriv in det i enheten):",
    "user": "Användarnamn",
    "password": "Lösenord",
    "topics": "Får publicera på",
    "payload": "Senaste meddelande",
    "messages": "meddelanden",
    "none": "Inga enheter matchar.",
    "error": "Kunde inte spara",
    "exists": "det finns redan en enhet med id {id}",
    "ref_taken": "referensen {ref} hör redan till enheten {id}",
    "total": "{n} enheter",
    "scope": "platsen ligger utanför din behörighet",
    "export": "Exportera alla (CSV för Excel)",
}
_EN = {
    **_SV,
    "heading": "Devices",
    "search": "Search (id, name, place, DevEUI …)",
    "search_button": "Search",
    "all": "all",
    "online": "online",
    "offline": "silent",
    "never_seen": "never heard",
    "register": "Register a device",
    "claim": "Unknown devices",
    "claim_button": "Claim",
    "no_unknown": "The gateway has heard no unknown devices.",
    "id": "Device id",
    "name": "Name",
    "type": "Type",
    "site": "Site",
    "place": "Room/place",
    "ref": "External ref (e.g. chirpstack:A84041…)",
    "issue_creds": "Create the device's own MQTT account",
    "save": "Register",
    "health": "Health",
    "last_seen": "Last seen",
    "battery": "Battery",
    "signal": "Signal",
    "state": "State",
    "active": "active",
    "maintenance": "maintenance",
    "retired": "retired",
    "registered": "Device {id} is registered.",
    "claimed": "Device {id} is claimed; {n} queued readings were stored.",
    "creds": "MQTT account (shown only now; enter it into the device):",
    "user": "Username",
    "password": "Password",
    "topics": "May publish to",
    "payload": "Last message",
    "messages": "messages",
    "none": "No device matches.",
    "error": "Could not save",
    "exists": "a device with id {id} exists already",
    "ref_taken": "the ref {ref} belongs to device {id} already",
    "total": "{n} devices",
    "scope": "that site is outside your scope",
    "export": "Export all (CSV for Excel)",
}


def _page(
    request: Request,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
    creds: MqttCredentials | None = None,
) -> Response:
    user = web_principal(request)
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    state = request.app.state
    registry: DeviceRegistry = state.registry
    params = request.query_params
    q = (params.get("q") or "").strip()[:100] or None
    health = params.get("health") or None
    now = datetime.now(UTC)
    scope = visible_sites(user)
    keep = None
    if health:

        def keep(d: DevicePublic) -> bool:
            return (
                device_health(state.store.latest(d.id), d.expected_interval_s, now).status == health
            )

    devices, total = registry.list(q=q, site_in=scope, keep=keep, limit=SHOWN)
    rows = [
        {"device": d, "health": device_health(state.store.latest(d.id), d.expected_interval_s, now)}
        for d in devices
    ]
    lang = request.cookies.get("kv_lang") or "sv"
    if params.get("lang") in ("sv", "en"):
        lang = params["lang"]
    words = _EN if lang == "en" else _SV
    resp = render(
        request,
        "devices.html",
        user,
        d=words,
        rows=rows,
        total=total,
        q=q or "",
        health=health or "",
        types=list(CATALOGUE.values()),
        sites=registry.list_sites(site_in=scope),
        unknown=[
            u
            for u in shown_to(user, state.quarantine.list_unknown())
            if registry.lookup(u.ref) is None
        ]
        if user.may("devices.write")
        else [],
        notice=notice,
        error=error,
        creds=creds,
        can_write=user.may("devices.write"),
        dynsec=state.platform.mqtt_issuer is not None,
    )
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"  # it may carry a password once
    return resp


@router.get("/devices", response_class=HTMLResponse, response_model=None)
def devices_page(request: Request) -> Response:
    return _page(request, notice=request.query_params.get("notice"))


def _issue(request: Request, device_id: str) -> MqttCredentials:
    issuer: CredentialIssuer | None = request.app.state.platform.mqtt_issuer
    if issuer is None:
        raise DynsecError("KOMMUNVAKT_DYNSEC_URL is not set")
    registry = request.app.state.registry
    creds = issuer.issue(device_id, registry.get(device_id).refs)
    registry.set_mqtt_username(device_id, creds.username)
    return creds


_EXISTS = re.compile(r"device '([^']+)' exists already")
_REF_TAKEN = re.compile(r"ref '([^']+)' belongs to device '([^']+)'")


def _reason(exc: Exception, words: dict[str, str]) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    # the registry speaks English to technicians and the API; the page speaks the page's language
    taken = _EXISTS.search(str(exc))
    if taken is not None:
        return words["exists"].format(id=taken.group(1))
    ref = _REF_TAKEN.search(str(exc))
    if ref is not None:
        return words["ref_taken"].format(ref=ref.group(1), id=ref.group(2))
    return str(exc)


@router.post("/devices", response_class=HTMLResponse, response_model=None)
def devices_post(
    request: Request,
    action: Annotated[str, Form()],
    type: Annotated[str, Form()],
    id: Annotated[str, Form()] = "",
    ref: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    site_id: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    issue_mqtt_credentials: Annotated[bool, Form()] = False,
) -> Response:
    user = web_principal(request)
    if user is None:
        return RedirectResponse("/login?next=/devices", status_code=303)
    if not user.may("devices.write"):
        raise HTTPException(403, "you may not register devices")
    state = request.app.state
    words = _EN if request.cookies.get("kv_lang") == "en" else _SV
    now = datetime.now(UTC)
    if not user.may_see_site(site_id or None):
        return _page(request, status=403, error=f"{words['error']}: {words['scope']}")
    try:
        if action == "claim":
            body = ClaimRequest(
                type=type, id=id or None, name=name, site_id=site_id or None, place=place or None
            )
            result = claim_unknown(
                ref,
                body,
                registry=state.registry,
                quarantine=state.quarantine,
                accept=state.platform.pipeline.accept,
                installed_by=user.name,
                now=now,
            )
            device, notice = (
                result.device,
                words["claimed"].format(id=result.device.id, n=result.ingested),
            )
        elif action == "register":
            new = DeviceCreate(
                id=id.strip(),
                type=type,
                name=name,
                site_id=site_id or None,
                place=place or None,
                refs=parse_refs(ref),  # type: ignore[arg-type]
                installed_by=user.name,
            )
            device = state.registry.create(new, now=now)
            notice = words["registered"].format(id=device.id)
        else:
            raise HTTPException(422, f"unknown action {action!r}")
        state.platform.audit.record(now, user.name, f"device.{action}", "device", device.id)
        if issue_mqtt_credentials:
            creds = _issue(request, device.id)
            return _page(request, status=201, notice=notice, creds=creds)
    except (RegistryError, ValidationError) as exc:
        status = 409 if "exists" in str(exc) or "belongs" in str(exc) else 422
        return _page(request, status=status, error=f"{words['error']}: {_reason(exc, words)}")
    return RedirectResponse(f"/devices?notice={quote(notice)}", status_code=303)
