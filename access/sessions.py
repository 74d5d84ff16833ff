"""Web sessions, CSRF tokens and the sign-in rate limit (in memory, per process).

A session id is 256 random bits in an HttpOnly, SameSite=Strict cookie (Secure over TLS); the
session holds the username and the user's ``session_generation`` when it was made, and every
request re-reads the user from the database: a changed password, role or scope, or a disabled
account, bumps the generation and ends every session of that user at once (on every instance,
as the generation lives on the user row). Sessions end after ``SESSION_TTL`` or ``SESSION_IDLE``
without use; a restart signs everyone out (acceptable for staff pages, and nothing to steal
from disk).

CSRF: every unsafe request made with the session cookie (not with a bearer token) must carry
the session's CSRF token in the form field ``csrf_token`` or the ``X-CSRF-Token`` header; the
sign-in form itself uses a double-submit cookie (``kv_csrf``). Templates get it from the
``csrf_field()`` global (``install_template_globals``).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from jinja2 import Environment, pass_context
from markupsafe import Markup, escape

from access.auth import SESSION_COOKIE, AccessDenied, Principal
from access.users import UserStore

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_IDLE",
    "SESSION_TTL",
    "RateLimiter",
    "SessionStore",
    "WebSession",
    "check_csrf",
    "csrf_token",
    "install_template_globals",
    "source_key",
]

SESSION_TTL = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)
CSRF_COOKIE = "kv_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(slots=True)
class WebSession:
    username: str
    generation: int
    csrf: str
    created: datetime
    last_seen: datetime


class SessionStore:
    """Session id → username. ``get(sid)`` gives the Principal (what ``web_principal`` uses)."""

    def __init__(self, users: UserStore, clock: Callable[[], datetime]) -> None:
        self._users = users
        self._clock = clock
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def create(self, username: str) -> tuple[str, WebSession]:
        now = self._clock()
        sid = secrets.token_urlsafe(32)
        generation = self._users.session_generation(username)
        session = WebSession(username, generation, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._prune(now)
            self._sessions[sid] = session
        return sid, session

    def session(self, sid: str | None) -> WebSession | None:
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.created > SESSION_TTL or now - session.last_seen > SESSION_IDLE:
                del self._sessions[sid]
                return None
            session.last_seen = now
            return session

    def get(self, sid: str | None, default: Any = None) -> Principal | None:
        session = self.session(sid)
        if session is None:
            return default  # type: ignore[no-any-return]
        principal = self._users.principal(
            session.username, "session", generation=session.generation
        )
        if principal is None:  # disabled, or changed since: this session is over for good
            self.pop(sid)
            return default  # type: ignore[no-any-return]
        return principal

    def pop(self, sid: str | None, default: Any = None) -> Any:
        with self._lock:
            return self._sessions.pop(sid or "", default)

    def drop_user(self, username: str) -> int:
        """End every session of a user (disabled, role changed, password changed)."""
        with self._lock:
            doomed = [k for k, v in self._sessions.items() if v.username == username]
            for k in doomed:
                del self._sessions[k]
            return len(doomed)

    def __len__(self) -> int:
        return len(self._sessions)

    def _prune(self, now: datetime) -> None:
        for k in [
            k
            for k, v in self._sessions.items()
            if now - v.created > SESSION_TTL or now - v.last_seen > SESSION_IDLE
        ]:
            del self._sessions[k]


def source_key(address: str) -> str:
    """Whom the sign-in limits count: an IPv4 address, or an IPv6 address's /64 (one host is
    given a whole /64, and must not get a fresh limit and lock from each of its addresses)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]  # not an address (a test client's name): counted as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimiter:
    """At most ``limit`` events per key within ``window`` (sliding); pure but for the lock."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window
        self._events: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: datetime) -> bool:
        """Count one event; False when the key is over its limit (the event is not counted)."""
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > 10_000:  # forget idle keys rather than grow without bound
                for k in [k for k, v in self._events.items() if not v]:
                    del self._events[k]
            return True


def _sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.web_sessions
    return store


def csrf_token(request: Request) -> str:
    """The CSRF token a form on this page must carry (creating the pre-session one if needed)."""
    session = _sessions(request).session(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        return session.csrf
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "kv_new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.kv_new_csrf = token  # the security middleware sets the cookie
    return str(token)


async def check_csrf(request: Request) -> None:
    """Raise AccessDenied unless the unsafe request carries the right CSRF token."""
    session = _sessions(request).session(request.cookies.get(SESSION_COOKIE))
    expected = session.csrf if session is not None else request.cookies.get(CSRF_COOKIE)
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        request.state.kv_csrf_failed = True
        raise AccessDenied("CSRF token missing or wrong; reload the page and try again")


@pass_context
def _csrf_field(ctx: Any) -> Markup:
    token = csrf_token(ctx["request"])
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')  # noqa: S704


@pass_context
def _csrf_token(ctx: Any) -> str:
    return csrf_token(ctx["request"])


@pass_context
def _csp_nonce(ctx: Any) -> str:
    return str(getattr(ctx["request"].state, "csp_nonce", ""))


def install_template_globals(env: Environment) -> None:
    """``csrf_field()``, ``csrf_token()`` and ``csp_nonce()`` for templates rendered with the
    request in their context (FastAPI's ``Jinja2Templates.TemplateResponse`` does that)."""
    env.globals["csrf_field"] = _csrf_field
    env.globals["csrf_token"] = _csrf_token
    env.globals["csp_nonce"] = _csp_nonce
