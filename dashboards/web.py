"""The built-in web pages for staff: server-rendered, Swedish by default, readable on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from access.auth import Principal, web_principal
from access.scope import AlertScope, visible_sites
from access.sessions import install_template_globals
from core.i18n import LANGS, format_value, metric_name, texts
from devices.catalogue import CATALOGUE, health_only, is_care_device
from devices.schemas import DevicePublic

__all__ = ["router"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_templates.env.filters["local"] = lambda t: t.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
_templates.env.globals["metric_name"] = metric_name
_templates.env.globals["format_value"] = format_value
install_template_globals(_templates.env)  # csrf_field(), csrf_token(), csp_nonce()

router = APIRouter(include_in_schema=False)


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("kv_lang") or "sv"
    return lang if lang in LANGS else "sv"


def render(request: Request, name: str, user: Principal | None, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    response = _templates.TemplateResponse(
        request, name, {"t": texts(lang), "lang": lang, "user": user, **ctx}
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("kv_lang", lang, samesite="strict", max_age=365 * 86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


# sign-in and sign-out live in access/web.py


@router.get("/", response_class=HTMLResponse, response_model=None)
def start_page(request: Request) -> Response:
    user = web_principal(request)
    if user is None:
        return _login_redirect(request)
    state = request.app.state
    devices = []
    if user.may("devices.read"):
        devices, _total = state.registry.list(site_in=visible_sites(user), limit=1000)
    # sites by the names staff know them by, not their ids ("solgardens-kok")
    site_names = {s.id: s.name for s in state.registry.list_sites(site_in=visible_sites(user))}
    rows = [
        {
            "device": d,
            "type": CATALOGUE[d.type],
            "latest": _shown(d, state.store.latest(d.id)),
            "where": " · ".join(
                p for p in (site_names.get(d.site_id or "", d.site_id), d.place) if p
            ),
        }
        for d in devices
    ]
    # the one rule, in SQL: building alerts by site, care alerts only by care unit
    scope = AlertScope.of(user)
    from dashboards.alert_view import by_urgency
    from dashboards.alerts_web import row_view, unit_names  # alerts_web imports this module

    alerts = by_urgency(
        state.alert_store.list("active", scope=scope)
        + state.alert_store.list("acknowledged", scope=scope)
    )
    svc = state.platform.alerting
    units = unit_names(request)
    alert_rows = [row_view(svc, a, state.store, _lang(request), units) for a in alerts]
    return render(request, "index.html", user, rows=rows, alerts=alert_rows)


def _shown(device: DevicePublic, latest: list[Any]) -> list[Any]:
    """A care device (bed sensor, safety alarm) shows only its own health here: what it says
    about a person belongs on the night board, under its access rules."""
    return health_only(latest) if is_care_device(device.type, device.care_unit_id) else latest


# /alerts and the acknowledge links live in dashboards/alerts_web.py (issue 5)
