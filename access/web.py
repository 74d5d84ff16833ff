"""Sign-in and sign-out for the web pages (username + password, or OpenID Connect).

Failed sign-ins answer the same whether the user is unknown, the password wrong or the account
locked, so the form does not tell an attacker which usernames exist. Each source address may
try ``LOGIN_RATE`` times per minute (HTTP 429 after that), and wrong passwords lock a user for
that source only (``access.users``). The source address is the TCP peer, or what a proxy in
``trusted_proxies`` says it forwarded for. Every attempt is on record.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from access.auth import SESSION_COOKIE, Principal, web_principal
from access.deps import AccessConfig, AccessSettings, Audit, Clock, Users
from access.sessions import (
    CSRF_COOKIE,
    SESSION_TTL,
    SessionStore,
    install_template_globals,
    source_key,
)
from access.users import SignIn, UserError, UserStore
from core.i18n import LANGS, texts

__all__ = ["LOGIN_RATE", "landing", "render", "router", "safe_next", "start_session"]

LOGIN_RATE = 10  # attempts per source address per minute
LOGIN_WINDOW = timedelta(minutes=1)

_HERE = Path(__file__).parent
_templates = Jinja2Templates(directory=str(_HERE / "templates"))
_templates.env.loader = ChoiceLoader(
    [
        FileSystemLoader(str(_HERE / "templates")),
        FileSystemLoader(str(_HERE.parent / "dashboards" / "templates")),
    ]
)
install_template_globals(_templates.env)

_TEXTS = {
    "sv": {
        "username": "Användarnamn",
        "password": "Lösenord",
        "login_failed": "Inloggningen misslyckades. Kontrollera användarnamn och lösenord.",
        "login_rate": "För många försök. Vänta en minut och försök igen.",
        "login_oidc": "Logga in med kommunens inloggning",
        "denied": "Åtkomst nekad",
        "denied_text": "Din roll ger inte åtkomst till den här sidan eller åtgärden.",
    },
    "en": {
        "username": "Username",
        "password": "Password",
        "login_failed": "Sign-in failed. Check your username and password.",
        "login_rate": "Too many attempts. Wait a minute and try again.",
        "login_oidc": "Sign in with the municipality's login",
        "denied": "Access denied",
        "denied_text": "Your role does not give access to this page or action.",
    },
}

router = APIRouter(include_in_schema=False)


def landing_of(user: Principal) -> str:
    """Where a role's work is, for sign-in without a page asked for: night staff read no
    buildings, only their units' night board (which opens the one unit of a user who has
    one); every other role gets the overview."""
    if user.may("care.read") and not (user.may("devices.read") or user.may("alerts.read")):
        return "/supervision"
    return "/"


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("kv_lang") or "sv"
    return lang if lang in LANGS else "sv"


def render(
    request: Request, name: str, user: Principal | None, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    lang = _lang(request)
    t = {**texts(lang), **_TEXTS[lang]}
    return _templates.TemplateResponse(
        request,
        name,
        {"t": t, "lang": lang, "user": user, **ctx},
        status_code=status_code,
    )


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``/x`` but not ``//evil`` or ``/\\evil`` (open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def landing(request: Request, username: str, target: str) -> str:
    """Where sign-in leads: the page asked for, or (nothing asked for) where the role's work
    is, so night staff open their unit's board and not the buildings' overview."""
    target = safe_next(target)
    if target != "/":
        return target
    users: UserStore = request.app.state.users
    principal = users.principal(username)
    return landing_of(principal) if principal is not None else target


def start_session(request: Request, username: str, target: str) -> RedirectResponse:
    """A fresh session (new id: no fixation) and the redirect that sets its cookies."""
    target = landing(request, username, target)
    sessions: SessionStore = request.app.state.web_sessions
    sid, session = sessions.create(username)
    secure = request.url.scheme == "https"
    resp = RedirectResponse(safe_next(target), status_code=303)
    max_age = int(SESSION_TTL.total_seconds())
    for name, value in ((SESSION_COOKIE, sid), (CSRF_COOKIE, session.csrf)):
        resp.set_cookie(
            name, value, httponly=True, samesite="strict", secure=secure, max_age=max_age
        )
    return resp


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    oidc = request.app.state.oidc is not None
    return render(request, "login.html", None, next=safe_next(next), error=None, oidc=oidc)


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    audit: Audit,
    users: Users,
    clock: Clock,
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    state = request.app.state
    now = clock()
    ip = _client_ip(request)
    oidc = state.oidc is not None
    lang = _lang(request)
    source = source_key(ip)
    if not state.login_limiter.hit(source, now):
        audit.record(
            now,
            "anonymous",
            "auth.sign_in",
            "user",
            None,
            outcome="denied",
            source_ip=ip,
            details={"reason": "rate_limited"},
        )
        return render(
            request,
            "login.html",
            None,
            429,
            next=safe_next(next),
            oidc=oidc,
            error=_TEXTS[lang]["login_rate"],
            username=username,
        )
    result = users.sign_in(username, password, now, source)
    name = username.strip().lower()
    try:
        users.get(name)
        actor = name
    except UserError:
        actor = "unknown"  # never record what was typed: it may be a password
    if result is not SignIn.OK:
        audit.record(
            now,
            actor,
            "auth.sign_in",
            "user",
            actor,
            outcome="denied",
            source_ip=ip,
            details={"reason": result.value, "method": "password"},
        )
        return render(
            request,
            "login.html",
            None,
            401,
            next=safe_next(next),
            oidc=oidc,
            error=_TEXTS[lang]["login_failed"],
            username=username,
        )
    audit.record(
        now, name, "auth.sign_in", "user", name, source_ip=ip, details={"method": "password"}
    )
    return start_session(request, name, next)


@router.post("/logout")
def logout(request: Request, audit: Audit, clock: Clock) -> RedirectResponse:
    user = web_principal(request)
    request.app.state.web_sessions.pop(request.cookies.get(SESSION_COOKIE))
    if user is not None:
        audit.record(
            clock(),
            user.name,
            "auth.sign_out",
            "user",
            user.name,
            source_ip=_client_ip(request),
        )
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    resp.delete_cookie(CSRF_COOKIE)
    return resp


OIDC_COOKIE = "kv_oidc"


def _redirect_uri(request: Request, settings: AccessSettings) -> str:
    base = settings.base_url or str(request.base_url)
    return f"{base.rstrip('/')}/login/oidc/callback"


@router.get("/login/oidc", response_model=None)
def oidc_begin(request: Request, settings: AccessConfig, clock: Clock, next: str = "/") -> Response:
    from access.oidc import OidcError

    oidc = request.app.state.oidc
    if oidc is None:
        return render(request, "denied.html", None, 404)
    now = clock()
    try:
        url, pending = oidc.begin(_redirect_uri(request, settings), safe_next(next), now)
    except OidcError as exc:
        lang = _lang(request)
        return render(
            request, "login.html", None, 502, next=safe_next(next), oidc=True,
            error=f"{_TEXTS[lang]['login_failed']} ({exc})",
        )  # fmt: skip
    resp = RedirectResponse(url, status_code=302)
    # Lax, not Strict: the provider's redirect back to us is a cross-site navigation
    resp.set_cookie(
        OIDC_COOKIE, pending.state, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", max_age=600, path="/login/oidc",
    )  # fmt: skip
    return resp


@router.get("/login/oidc/callback", response_model=None)
def oidc_callback(
    request: Request,
    settings: AccessConfig,
    audit: Audit,
    users: Users,
    clock: Clock,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    from access.oidc import OidcError

    oidc = request.app.state.oidc
    if oidc is None:
        return render(request, "denied.html", None, 404)
    now = clock()
    ip = _client_ip(request)
    lang = _lang(request)
    cookie = request.cookies.get(OIDC_COOKIE, "")
    pending = oidc.take(state, now) if state and cookie == state else None
    principal: Principal | None = None
    reason = error[:100] or ("state" if pending is None else "")
    if pending is not None and not error:
        try:
            identity = oidc.complete(code, pending, _redirect_uri(request, settings), now)
            principal = users.oidc_user(identity.issuer, identity.subject)
            reason = "" if principal is not None else "subject not linked to a user"
        except OidcError as exc:
            reason = str(exc)
    if principal is None:
        # neither the provider's names nor its subject go on record: the subject may be a
        # personal identity number at Swedish e-ID providers
        audit.record(
            now, "unknown", "auth.sign_in", "user", None, outcome="denied",
            source_ip=ip, details={"method": "oidc", "reason": reason or "not linked"},
        )  # fmt: skip
        return render(
            request, "login.html", None, 401, next="/", oidc=True,
            error=_TEXTS[lang]["login_failed"],
        )  # fmt: skip
    audit.record(
        now, principal.name, "auth.sign_in", "user", principal.name, source_ip=ip,
        details={"method": "oidc"},
    )  # fmt: skip
    assert pending is not None
    target = landing(request, principal.name, pending.next)
    # answer 200 and move on from our own page: after a cross-site redirect chain a
    # SameSite=Strict session cookie would not be sent on a plain 303 to the target
    resp = start_session(request, principal.name, target)
    page = render(request, "moving_on.html", principal, target=target)
    for key, value in resp.headers.items():
        if key == "set-cookie":
            page.headers.append("set-cookie", value)
    page.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return page
