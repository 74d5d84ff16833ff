"""The ``/alerts`` page (acknowledge, resolve with a note) and the acknowledge-link pages.

``/ack/<token>`` needs no sign-in: the token in the notification is the authority (signed,
expiring, single use; ``alerts.links``). GET shows what would be acknowledged and a button;
only the POST from that page acknowledges, so a mail scanner that fetches every link in a
message acknowledges nothing. The form carries the double-submit CSRF token like sign-in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from access.auth import AccessDenied, Principal, web_principal
from access.scope import AlertScope, may_see_alert, visible_sites
from alerts.api import may_see_silence
from alerts.errors import AckLinkError, AlertStateError
from alerts.messages import SEVERITY_SV, num
from alerts.service import Alerting
from alerts.store import Alert
from core.bounds import DbId
from core.identity_numbers import FreeText
from dashboards.alert_advice import advice_for
from dashboards.alert_view import by_urgency, external_view, page_what
from dashboards.history import rules_of
from dashboards.web import render
from ingest.store import ReadingStore

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

TEXTS = {
    "sv": {
        "resolve": "Åtgärdat",
        "note": "Anteckning",
        "all_states": "Alla",
        "all_sites": "Alla platser",
        "all_severities": "Alla nivåer",
        "site": "Plats",
        "open": "Öppna",
        "filter": "Visa",
        "silences": "Underhållsfönster (notiser pausade)",
        "until": "till",
        "ack_title": "Kvittera larm",
        "ack_confirm": "Kvittera larmet",
        "ack_done": "Larmet är kvitterat. Tack!",
        "ack_already": "Larmet är redan kvitterat",
        "resolved_already": "Larmet är redan återställt",
        "link_error": "Länken kan inte användas",
        "reminders": "påminnelser",
        "escalated": "eskalerat",
    },
    "en": {
        "resolve": "Resolved",
        "note": "Note",
        "all_states": "All",
        "all_sites": "All sites",
        "all_severities": "All levels",
        "site": "Site",
        "open": "Open",
        "filter": "Show",
        "silences": "Maintenance windows (notifications paused)",
        "until": "until",
        "ack_title": "Acknowledge alert",
        "ack_confirm": "Acknowledge the alert",
        "ack_done": "The alert is acknowledged. Thank you!",
        "ack_already": "The alert is acknowledged already",
        "resolved_already": "The alert is resolved already",
        "link_error": "This link cannot be used",
        "reminders": "reminders",
        "escalated": "escalated",
    },
}


def _svc(request: Request) -> Alerting:
    svc: Alerting = request.app.state.platform.alerting
    return svc


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("kv_lang") or "sv"
    return lang if lang in TEXTS else "sv"


def _texts(request: Request) -> dict[str, str]:
    return TEXTS[_lang(request)]


def _label(svc: Alerting, alert: Alert) -> str:
    info = svc.engine.registry.info(alert.device_id)
    if info is not None:
        return info.name or info.id
    # an alert raised from outside the rules (e-supervision): its own first line names it
    return (alert.message or alert.rule.replace("_", " ")).splitlines()[0][:80]


def row_view(
    svc: Alerting,
    a: Alert,
    readings: ReadingStore | None,
    lang: str = "sv",
    unit_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One alert as the pages show it: the device's name, its site, what happened in words
    (a resolved alert by its worst value, read from ``readings``); a night-supervision alert
    by its care unit's name (``unit_names``), with its board as a link."""
    rules: list[Any] = []
    if a.state == "resolved" and a.origin == "rule":
        info = svc.engine.registry.info(a.device_id)
        rules = rules_of(svc.engine, info) if info is not None else []
    label, what, link = _label(svc, a), page_what(a, readings, rules), None
    if a.origin == "external":
        label, what, link = external_view(a, unit_names or {})
    return {
        "a": a,
        "label": label,
        "link": link,
        "value": num(a.value),
        "threshold": num(a.threshold),
        "severity_sv": SEVERITY_SV.get(a.severity, a.severity),
        "what": what,
        "site": svc.engine.announce.site_name(a.site_id) or a.site_id,
        "resolved_by_system": a.resolved_by in (None, "system"),
        "advice": advice_for(a, lang),
    }


def unit_names(request: Request) -> dict[str, str]:
    """Care unit id → the name staff know it by; ids stand in where the registry has none."""
    try:
        return {u.id: u.name for u in request.app.state.registry.list_care_units()}
    except Exception:  # a registry without care units: the rows show the ids
        return {}


def _readings(request: Request) -> ReadingStore:
    store: ReadingStore = request.app.state.store
    return store


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


@router.get("/alerts", response_class=HTMLResponse, response_model=None)
def alerts_page(
    request: Request,
    state: str = "open",
    site_id: str | None = None,
    severity: str | None = None,
) -> Response:
    user = web_principal(request)
    if user is None:
        return _login(request)
    svc = _svc(request)
    store = svc.store
    site = site_id or None
    sev = severity or None
    scope = AlertScope.of(user)  # the one rule, in SQL: a page holds what the user may see
    if state == "open":
        found = by_urgency(
            [
                *store.list("active", site_id=site, severity=sev, limit=500, scope=scope),
                *store.list("acknowledged", site_id=site, severity=sev, limit=500, scope=scope),
            ]
        )
    else:
        chosen = state if state in ("active", "acknowledged", "resolved") else None
        found = store.list(chosen, site_id=site, severity=sev, limit=500, scope=scope)
    readings = _readings(request)
    lang, units = _lang(request), unit_names(request)
    visible = [row_view(svc, a, readings, lang, units) for a in found]
    # the filters apply to the recent ones too: a site's page must not show another's
    done = store.list("resolved", site_id=site, severity=sev, limit=20, scope=scope)
    recent = [row_view(svc, a, readings, lang, units) for a in done]
    # only the silences of the user's sites (what they silence says where work is going on)
    silences = [x for x in svc.silences.list(datetime.now(UTC)) if may_see_silence(svc, user, x)]
    return render(
        request, "alerts.html", user, rows=visible, recent=recent, silences=silences,
        at=_texts(request), state=state, site_id=site or "", severity=sev or "",
        sites=svc.engine.registry.list_sites(site_in=visible_sites(user)),
    )  # fmt: skip


def _visible_or_403(svc: Alerting, user: Principal, alert_id: int) -> Alert:
    alert = svc.store.get(alert_id)
    if not may_see_alert(user, alert.site_id, alert.tags):
        raise AccessDenied("this alert is outside your sites or care units")
    return alert


@router.post("/alerts/{alert_id}/ack", response_model=None)
def ack_from_page(request: Request, alert_id: DbId) -> Response:
    user = web_principal(request)
    if user is None:
        return _login(request)
    svc = _svc(request)
    _visible_or_403(svc, user, alert_id)
    with contextlib.suppress(AlertStateError):  # someone was quicker: the page shows who
        svc.engine.acknowledge(alert_id, user.name, datetime.now(UTC), None)
    return RedirectResponse(f"/alerts#alert-{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/resolve", response_model=None)
def resolve_from_page(
    request: Request, alert_id: DbId, note: Annotated[FreeText, Form(max_length=2000)] = ""
) -> Response:
    user = web_principal(request)
    if user is None:
        return _login(request)
    svc = _svc(request)
    _visible_or_403(svc, user, alert_id)
    with contextlib.suppress(AlertStateError):
        svc.engine.resolve_manually(alert_id, user.name, datetime.now(UTC), note or None)
    return RedirectResponse("/alerts", status_code=303)


def _link_page(
    request: Request, status: int, token: str, alert: Alert | None, message: str | None, done: bool
) -> HTMLResponse:
    svc = _svc(request)
    row = (
        row_view(svc, alert, _readings(request), _lang(request), unit_names(request))
        if alert is not None
        else None
    )
    resp = render(
        request, "alert_ack_link.html", None, row=row, token=token, message=message, done=done,
        at=_texts(request),
    )  # fmt: skip
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token must not leak onwards
    return resp


def _check(request: Request, token: str) -> tuple[Alert | None, str | None, int]:
    svc, texts = _svc(request), _texts(request)
    now = datetime.now(UTC)
    try:
        claim = svc.links.verify(token, now)
    except AckLinkError as exc:
        return None, f"{texts['link_error']}: {exc}.", 410
    alert = svc.store.get(claim.alert_id)
    if alert.state == "acknowledged":
        return alert, f"{texts['ack_already']} ({alert.acknowledged_by}).", 200
    if alert.state == "resolved":
        return alert, f"{texts['resolved_already']}.", 200
    if svc.links.is_used(claim):
        return alert, f"{texts['link_error']}: länken har redan använts.", 410
    return alert, None, 200


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_link_confirm(request: Request, token: str) -> HTMLResponse:
    alert, message, status = _check(request, token)
    return _link_page(request, status, token, alert, message, done=False)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_link_use(request: Request, token: str) -> HTMLResponse:
    alert, message, status = _check(request, token)
    if message is not None or alert is None:
        return _link_page(request, status, token, alert, message, done=False)
    svc = _svc(request)
    now = datetime.now(UTC)
    claim = svc.links.verify(token, now)
    try:
        svc.links.use(claim, now)
        actor = f"länk: {claim.recipient}"[:100]
        alert = svc.engine.acknowledge(alert.id, actor, now, "kvitterat via länk i notisen")
    except (AckLinkError, AlertStateError) as exc:
        return _link_page(request, 410, token, alert, f"{_texts(request)['link_error']}: {exc}.",
                          done=False)  # fmt: skip
    audit = getattr(request.app.state.platform, "audit", None)
    if audit is not None:
        client = request.client.host if request.client else None
        audit.record(
            now, actor, "alert.acknowledge", "alert", str(alert.id), source_ip=client,
            details={"via": "link"},
        )  # fmt: skip
    return _link_page(request, 200, token, alert, None, done=True)
