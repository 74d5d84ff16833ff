"""The built-in web pages for staff: server-rendered, Swedish by default, readable on a phone."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from access.auth import SESSION_COOKIE, Principal, web_principal
from dashboards.i18n import LANGS, format_value, metric_name, texts
from devices.catalogue import CATALOGUE

__all__ = ["router"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_templates.env.filters["local"] = lambda t: t.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
_templates.env.globals["metric_name"] = metric_name
_templates.env.globals["format_value"] = format_value

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


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(
        request, "login.html", None, next=next if next.startswith("/") else "/", error=False
    )


@router.post("/login", response_model=None)
def login(
    request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    principal = request.app.state.token_verifier(token.strip())
    if principal is None:
        resp = render(request, "login.html", None, next=next, error=True)
        resp.status_code = 401
        return resp
    session_id = secrets.token_urlsafe(32)
    request.app.state.web_sessions[session_id] = principal
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
    )
    return resp


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.app.state.web_sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/", response_class=HTMLResponse, response_model=None)
def start_page(request: Request) -> Response:
    user = web_principal(request)
    if user is None:
        return _login_redirect(request)
    state = request.app.state
    devices, _total = state.registry.list(limit=1000)
    rows = [
        {"device": d, "type": CATALOGUE[d.type], "latest": state.store.latest(d.id)}
        for d in devices
    ]
    alerts = state.alert_store.list("active") + state.alert_store.list("acknowledged")
    return render(request, "index.html", user, rows=rows, alerts=alerts)


@router.get("/alerts", response_class=HTMLResponse, response_model=None)
def alerts_page(request: Request) -> Response:
    user = web_principal(request)
    if user is None:
        return _login_redirect(request)
    store = request.app.state.alert_store
    open_alerts = store.list("active") + store.list("acknowledged")
    recent = store.list("resolved", limit=20)
    return render(request, "alerts.html", user, alerts=open_alerts, recent=recent)


@router.post("/alerts/{alert_id}/ack", response_model=None)
def ack_from_page(request: Request, alert_id: int) -> Response:
    user = web_principal(request)
    if user is None:
        return _login_redirect(request)
    request.app.state.alert_store.acknowledge(alert_id, user.name, datetime.now(UTC))
    return RedirectResponse("/alerts", status_code=303)
