"""``install_access(app, platform)``: the access layer on a FastAPI app, in one call.

``create_app`` also passes ``dependencies=[Depends(authorize)]`` to ``FastAPI(...)``, so every
route, whoever adds it, is checked against ``access.policy``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from access.api import router as api_router
from access.audit import AuditLog
from access.auth import AccessDenied, web_principal
from access.deps import AccessSettings
from access.guard import LoginRequired, SecurityMiddleware, is_api_path
from access.oidc import OidcClient, OidcConfig
from access.sessions import RateLimiter, SessionStore
from access.users import UnknownUser, UserError, UserExists, UserStore
from access.web import LOGIN_RATE, LOGIN_WINDOW, render
from access.web import router as web_router

__all__ = ["install_access"]

log = logging.getLogger(__name__)


def _json(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handler


async def _login_required(request: Request, _exc: Exception) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


async def _denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if is_api_path(request.url.path):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    return render(request, "denied.html", web_principal(request), exc.status_code)


class AccessHost(Protocol):
    """The parts of the composition root the access layer is built from."""

    @property
    def settings(self) -> AccessSettings: ...

    @property
    def users(self) -> UserStore: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def admin_token(self) -> str: ...

    def clock(self) -> datetime: ...


def install_access(app: FastAPI, platform: AccessHost) -> None:
    """Users and tokens (with the built-in admin and its bootstrap token), web sessions,
    sign-in rate limit, optional OIDC, the security middleware and the access routes."""
    users = platform.users
    users.ensure_bootstrap_admin(platform.admin_token, platform.clock())
    app.state.users = users
    app.state.audit = platform.audit
    app.state.token_verifier = lambda token: users.verify_token(token, platform.clock())
    app.state.web_sessions = SessionStore(platform.sessions, users, platform.clock)
    app.state.login_limiter = RateLimiter(platform.sessions, LOGIN_RATE, LOGIN_WINDOW)
    config = OidcConfig.from_settings(platform.settings)
    app.state.oidc = OidcClient(config) if config is not None else None
    max_body = platform.settings.max_request_bytes
    app.add_middleware(
        SecurityMiddleware, audit=platform.audit, clock=platform.clock, max_body=max_body
    )
    proxies = list(platform.settings.trusted_proxies)
    if proxies:
        # outside the security middleware: the audit and the sign-in limits see the client
        # the proxy names; any other client's X-Forwarded-For is ignored
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(AccessDenied, _denied)
    app.add_exception_handler(UnknownUser, _json(404))
    app.add_exception_handler(UserExists, _json(409))
    app.add_exception_handler(UserError, _json(422))
    app.include_router(web_router)
    app.include_router(api_router)
