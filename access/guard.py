"""Central enforcement: the ``authorize`` dependency of the whole app and the ASGI middleware.

``authorize`` runs before every route's own dependencies: it finds the route's rule in
``access.policy.RULES`` (method + path template), authenticates (bearer token, else session
cookie), checks the role's actions and, for unsafe requests made with a session cookie, the
CSRF token. ``SecurityMiddleware`` sets the security headers, limits request bodies and writes
the audit record of each request that must be on record once its status is known.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from access.audit import AuditLog
from access.audit_limit import AnonymousAuditLimit
from access.auth import SESSION_COOKIE, AccessDenied, Principal, _bearer
from access.deps import Alerts, Sites
from access.policy import AUDITED, PUBLIC, rule_for
from access.scope import check_object_scope
from access.sessions import CSRF_COOKIE, check_csrf

__all__ = [
    "DEFAULT_MAX_BODY",
    "LoginRequired",
    "SecurityMiddleware",
    "authorize",
    "is_api_path",
    "route_template",
]

log = logging.getLogger(__name__)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_MAX_BODY = 2 * 1024 * 1024
# /docs is a page: without a session it sends the browser to the sign-in page
_API_PREFIXES = ("/api/", "/healthz", "/livez", "/readyz", "/metrics", "/openapi.json")


class LoginRequired(Exception):
    """A web page was asked for without a session: the handler redirects to /login."""


def is_api_path(path: str) -> bool:
    return path.startswith(_API_PREFIXES)


def authenticate(request: Request) -> Principal | None:
    """Bearer token first (401 when it is wrong), else the session cookie, else None."""
    token = _bearer(request)
    if token is not None:
        principal: Principal | None = request.app.state.token_verifier(token)
        if principal is None:
            request.state.kv_bad_token = True
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid, expired or revoked token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return principal
    sid = request.cookies.get(SESSION_COOKIE)
    return request.app.state.web_sessions.get(sid) if sid else None


def route_template(request: Request) -> str:
    """The matched route's path template with every include prefix (``/api/v1/x/{id}``)."""
    # FastAPI >= 0.16x keeps included routers unflattened; the effective route context has
    # the full template, scope["route"] only the router's own (maybe prefix-less) one.
    ctx = (request.scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(ctx, "path_format", None)
    if not template:
        template = getattr(request.scope.get("route"), "path_format", None)
    return str(template or request.url.path)


async def authorize(request: Request, sites: Sites, alerts: Alerts) -> None:
    template = route_template(request)
    request.state.kv_route = template
    rule = rule_for(request.method, template)
    if rule is None:
        request.state.kv_action = "unmapped"
        request.state.kv_denied = True
        log.warning("refused %s %s: no access rule for this route", request.method, template)
        raise AccessDenied("no access rule for this route (access/policy.py)")
    request.state.kv_action = rule.action
    unsafe = request.method in UNSAFE
    if rule.action == PUBLIC:
        if unsafe and _bearer(request) is None:
            await check_csrf(request)
        return
    principal = authenticate(request)
    if principal is None:
        if is_api_path(request.url.path):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "sign in or send a bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise LoginRequired()
    request.state.principal = principal
    if not principal.may(rule.action):
        request.state.kv_denied = True
        raise AccessDenied(f"role {principal.role!r} may not {rule.action}")
    try:
        check_object_scope(request, principal, rule.action, sites, alerts)
    except AccessDenied:
        request.state.kv_denied = True
        raise
    if unsafe and principal.via == "session":
        await check_csrf(request)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _csp(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


class SecurityMiddleware:
    """Security headers, a request-size limit, and the audit record of each request."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        *,
        audit: AuditLog,
        clock: Callable[[], datetime],
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.anonymous = AnonymousAuditLimit()
        self.audit = audit
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        nonce = secrets.token_urlsafe(16)
        state["csp_nonce"] = nonce
        path: str = scope["path"]
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _plain(send, 413, b"request body too large")
            return
        received = 0
        too_large = False
        started = False
        status_code = 500

        async def limited_receive() -> MutableMapping[str, Any]:
            # A body without Content-Length (chunked) is counted as it arrives. FastAPI turns
            # any error while reading into a 400, so answer 413 here ourselves and tell the
            # app the client has gone; whatever it answers after that is dropped.
            nonlocal received, too_large, started, status_code
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    if not started:
                        started, status_code = True, 413
                        await _plain(send, 413, b"request body too large")
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            nonlocal started, status_code
            if too_large:
                return
            if message["type"] == "http.response.start":
                started = True
                status_code = message["status"]
                out = list(message.get("headers", []))
                names = {k.lower() for k, _ in out}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not path.startswith(("/docs", "/redoc")):
                    extra.append((b"content-security-policy", _csp(nonce).encode()))
                if scope.get("scheme") == "https":
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                ctype = dict(out).get(b"content-type", b"")
                if ctype.startswith(b"text/html") and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                new_csrf = state.get("kv_new_csrf")
                if new_csrf:
                    secure = "; Secure" if scope.get("scheme") == "https" else ""
                    cookie = f"{CSRF_COOKIE}={new_csrf}; Path=/; HttpOnly; SameSite=Strict{secure}"
                    extra.append((b"set-cookie", cookie.encode()))
                message["headers"] = out + [h for h in extra if h[0] not in names]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception:
            if not too_large:
                raise
        finally:
            if started:
                await _audit(self.audit, self.clock, scope, state, status_code, self.anonymous)


async def _plain(send: Send, code: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [(b"content-type", b"text/plain"), (b"x-content-type-options", b"nosniff")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _audit(
    audit: AuditLog,
    clock: Callable[[], datetime],
    scope: Scope,
    state: dict[str, Any],
    status_code: int,
    anonymous: AnonymousAuditLimit,
) -> None:
    action = state.get("kv_action")
    if action is None:
        return
    principal: Principal | None = state.get("principal")
    method = scope["method"]
    via = principal.via if principal else ""
    denied = bool(
        state.get("kv_denied") or state.get("kv_csrf_failed") or state.get("kv_bad_token")
    )
    wanted = (
        action in AUDITED
        or denied
        or (method in UNSAFE and via.startswith("token:"))
        or (status_code == 401 and action != PUBLIC)
    )
    if not wanted:
        return
    if denied or status_code in (401, 403):
        outcome = "denied"
    elif status_code >= 400:
        outcome = "failed"
    else:
        outcome = "allowed"
    params = scope.get("path_params") or {}
    client = scope.get("client")
    details: dict[str, object] = {
        "method": method,
        "route": state.get("kv_route"),
        "status": status_code,
    }
    if via:
        details["via"] = via
    if principal is None and status_code == 401:
        # anyone on the network can send these: one row per source and minute
        repeats = anonymous.admit(client[0] if client else "", clock())
        if repeats is None:
            return
        if repeats:
            details["repeats_before"] = repeats
    if state.get("kv_csrf_failed"):
        details["reason"] = "csrf"
    try:
        await run_in_threadpool(
            audit.record,
            clock(),
            principal.name if principal else "anonymous",
            action,
            action.split(".")[0],
            str(next(iter(params.values()))) if params else None,
            outcome=outcome,
            source_ip=client[0] if client else None,
            details=details,
        )
    except Exception:
        # the response has gone out; a lost audit row must at least be loud
        log.exception("could not write the audit record for %s %s", method, state.get("kv_route"))
