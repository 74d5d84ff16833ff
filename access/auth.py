"""Authentication for the API and the web pages.

The API takes ``Authorization: Bearer <token>``. The web pages take a session cookie set by
``/login``: a random session id (never the token), HttpOnly and SameSite=Strict (Secure when
served over TLS), held in ``app.state.web_sessions``. Tokens are compared in constant time.
``app.state.token_verifier`` maps a presented token to a ``Principal`` or ``None``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

__all__ = [
    "SESSION_COOKIE",
    "AccessDenied",
    "Principal",
    "RequireUser",
    "TokenVerifier",
    "admin_token_verifier",
    "current_principal",
    "web_principal",
]

SESSION_COOKIE = "kv_session"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    sites: frozenset[str] = field(default_factory=frozenset)
    care_units: frozenset[str] = field(default_factory=frozenset)

    #: how the request was authenticated: "token:<id>", "session" or "" (built in code)
    via: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may(self, action: str) -> bool:
        """Whether the role grants ``action`` (see ``access.policy.ROLE_ACTIONS``)."""
        from access.policy import SIGNED_IN, actions_of

        return action == SIGNED_IN or action in actions_of(self.role)

    def may_see_site(self, site_id: str | None) -> bool:
        """Admin sees every site; others the sites in their scope ("*" means every site).

        An object without a site (``None``) is seen only by admin and all-site scopes.
        """
        if self.is_admin or "*" in self.sites:
            return True
        return site_id is not None and site_id in self.sites

    def may_see_care_unit(self, unit_id: str | None) -> bool:
        """Admin sees every care unit; others the units in their scope ("*": every unit)."""
        if self.is_admin or "*" in self.care_units:
            return True
        return unit_id is not None and unit_id in self.care_units

    def require_site(self, site_id: str | None) -> None:
        """Raise ``AccessDenied`` (HTTP 403) unless ``may_see_site``."""
        if not self.may_see_site(site_id):
            raise AccessDenied(f"{self.name} may not see site {site_id!r}")

    def require_care_unit(self, unit_id: str | None) -> None:
        """Raise ``AccessDenied`` (HTTP 403) unless ``may_see_care_unit``."""
        if not self.may_see_care_unit(unit_id):
            raise AccessDenied(f"{self.name} may not see care unit {unit_id!r}")


class AccessDenied(HTTPException):
    """403: the principal is known but its role or scope does not allow this."""

    def __init__(self, detail: str = "forbidden") -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, detail)


TokenVerifier = Callable[[str], Principal | None]


def admin_token_verifier(admin_token: str) -> TokenVerifier:
    def verify(token: str) -> Principal | None:
        if hmac.compare_digest(token.encode(), admin_token.encode()):
            return Principal("admin", "admin")
        return None

    return verify


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def current_principal(request: Request) -> Principal:
    verify: TokenVerifier = request.app.state.token_verifier
    token = _bearer(request)
    if token is not None:
        principal = verify(token)
        if principal is not None:
            return principal
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid or expired token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = web_principal(request)
    if principal is not None:
        return principal
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "a bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


def web_principal(request: Request) -> Principal | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    sessions: dict[str, Principal] = request.app.state.web_sessions
    return sessions.get(cookie)


RequireUser = Annotated[Principal, Depends(current_principal)]
