"""Web sessions, CSRF tokens and the sign-in rate limit, in the database (every instance sees them).

A session id is 256 random bits in an HttpOnly, SameSite=Strict cookie (Secure over TLS); the
table ``access_web_sessions`` keeps only its sha256 (a database dump names no usable session),
with the username and the user's ``session_generation`` when it was made. Every request
re-reads the user: a changed password, role or scope, or a disabled account, bumps the
generation and ends every session of that user at once. Sessions end after ``SESSION_TTL`` or
``SESSION_IDLE`` without use; the last use is written at most once per ``TOUCH_EVERY`` (a page
with many requests costs one write), and expired rows are deleted when a session is made. Any
instance sharing the database honours a session another instance made: a standby that takes
over keeps everyone signed in.

The sign-in rate limit counts attempts per source in ``access_sign_in_attempts``, so that two
instances behind one load balancer share one limit rather than doubling it.

CSRF: every unsafe request made with the session cookie (not with a bearer token) must carry
the session's CSRF token in the form field ``csrf_token`` or the ``X-CSRF-Token`` header; the
sign-in form itself uses a double-submit cookie (``kv_csrf``). Templates get it from the
``csrf_field()`` global (``install_template_globals``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from jinja2 import Environment, pass_context
from markupsafe import Markup, escape
from sqlalchemy import Integer, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from access.auth import SESSION_COOKIE, AccessDenied, Principal
from access.users import UserStore
from core.db import Base, UTCDateTime

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_IDLE",
    "SESSION_TTL",
    "TOUCH_EVERY",
    "RateLimiter",
    "SessionStore",
    "SignInAttemptRow",
    "WebSession",
    "WebSessionRow",
    "check_csrf",
    "csrf_token",
    "install_template_globals",
    "source_key",
]

SESSION_TTL = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)
CSRF_COOKIE = "kv_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class WebSessionRow(Base):
    """One signed-in browser. ``id_digest`` is the sha256 of the cookie's session id."""

    __tablename__ = "access_web_sessions"

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SignInAttemptRow(Base):
    """One sign-in attempt from a source (see ``source_key``), counted by ``RateLimiter``."""

    __tablename__ = "access_sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@dataclass(frozen=True, slots=True)
class WebSession:
    username: str
    generation: int
    csrf: str
    created: datetime
    last_seen: datetime


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _expired(row: WebSessionRow, now: datetime) -> bool:
    return now - row.created_at > SESSION_TTL or now - row.last_seen_at > SESSION_IDLE


class SessionStore:
    """Session id → username. ``get(sid)`` gives the Principal (what ``web_principal`` uses)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        users: UserStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._users = users
        self._clock = clock

    def create(self, username: str) -> tuple[str, WebSession]:
        now = self._clock()
        sid = secrets.token_urlsafe(32)
        generation = self._users.session_generation(username)
        session = WebSession(username, generation, secrets.token_urlsafe(32), now, now)
        with self._sessions() as s:
            s.execute(
                delete(WebSessionRow).where(
                    or_(
                        WebSessionRow.created_at < now - SESSION_TTL,
                        WebSessionRow.last_seen_at < now - SESSION_IDLE,
                    )
                )
            )
            s.add(
                WebSessionRow(
                    id_digest=_digest(sid),
                    username=username,
                    generation=generation,
                    csrf=session.csrf,
                    created_at=now,
                    last_seen_at=now,
                )
            )
            s.commit()
        return sid, session

    def session(self, sid: str | None) -> WebSession | None:
        if not sid:
            return None
        now = self._clock()
        with self._sessions() as s:
            row = s.get(WebSessionRow, _digest(sid))
            if row is None:
                return None
            if _expired(row, now):
                s.delete(row)
                s.commit()
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
                s.commit()
            return WebSession(
                row.username, row.generation, row.csrf, row.created_at, row.last_seen_at
            )

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

    def pop(self, sid: str | None) -> bool:
        """End one session (sign-out); True when there was one."""
        if not sid:
            return False
        with self._sessions() as s:
            done = s.execute(delete(WebSessionRow).where(WebSessionRow.id_digest == _digest(sid)))
            s.commit()
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def drop_user(self, username: str) -> int:
        """End every session of a user (disabled, role changed, password changed)."""
        with self._sessions() as s:
            done = s.execute(delete(WebSessionRow).where(WebSessionRow.username == username))
            s.commit()
            return int(done.rowcount)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(WebSessionRow)) or 0)


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
    """At most ``limit`` events per key within ``window`` (sliding), counted in the database."""

    def __init__(self, sessions: sessionmaker[Session], limit: int, window: timedelta) -> None:
        self._sessions = sessions
        self.limit, self.window = limit, window

    def hit(self, key: str, now: datetime) -> bool:
        """Count one event; False when the key is over its limit (the event is not counted).

        The event is written first and counted after: two instances counting at once may both
        refuse one attempt too many, but never both let one too many through."""
        key = key[:64]
        since = now - self.window
        with self._sessions() as s:
            # forget what has run its course, whoever knocked, so the table stays small
            s.execute(delete(SignInAttemptRow).where(SignInAttemptRow.at <= since))
            row = SignInAttemptRow(source=key, at=now)
            s.add(row)
            s.commit()
            count = s.scalar(
                select(func.count())
                .select_from(SignInAttemptRow)
                .where(SignInAttemptRow.source == key, SignInAttemptRow.at > since)
            )
            if (count or 0) <= self.limit:
                return True
            s.delete(row)
            s.commit()
            return False


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
