"""Users, their roles and scopes, passwords (argon2) and API tokens (sha256), in SQL.

Passwords are argon2id hashes (argon2-cffi defaults). API tokens are 256-bit random strings;
only their sha256 is stored (a fast hash is enough for high-entropy secrets) and the
plaintext is returned once, at creation. A token belongs to one user (a person, or an
integration user without a password) and may expire or be revoked; revocation sticks.
Lockout: ``LOCK_AFTER`` wrong passwords from one source address, each within ``LOCK_FOR`` of
the one before, lock that user *for that source* for ``LOCK_FOR`` (table
``access_sign_in_locks``); the lock is not revealed to the caller (same answer as a wrong
password). A lock per account alone would let anyone lock
the admin out by typing wrong passwords; a lock per (user, source) does not, and the per-source
rate limit plus argon2 keep guessing from many sources slow.

Sessions: ``session_generation`` on the user row grows whenever the password, the role, the
scopes or the disabled flag change; a web session remembers the generation it was made under
and ends when the row's differs (checked on every request, in the database, so it holds for
every instance).

OpenID Connect: a user signs in through the provider only when an admin linked the provider's
stable subject (``iss`` + ``sub``) to them (``access_oidc_links``); admin accounts are never
linked, nor signed in that way if they become admin after linking.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from access.auth import Principal
from access.policy import ROLES
from core.db import Base, UTCDateTime

__all__ = [
    "BOOTSTRAP_TOKEN_NAME",
    "BUILTIN_ADMIN",
    "LOCK_AFTER",
    "LOCK_FOR",
    "OidcLinkRow",
    "SignIn",
    "SignInLockRow",
    "TokenInfo",
    "UnknownUser",
    "UserError",
    "UserExists",
    "UserInfo",
    "UserStore",
    "hash_token",
]

BUILTIN_ADMIN = "admin"
BOOTSTRAP_TOKEN_NAME = "bootstrap"  # noqa: S105 (a name, not a secret)
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
TOKEN_PREFIX = "kv_"  # noqa: S105 (a prefix, not a secret)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): ~30 ms a check here, where the
# library default (64 MiB, 3 passes, 4 lanes) took ~0.9 s on a loaded 2-core machine and
# would make the sign-in form a cheap way to tie the server up. Old hashes are upgraded
# at the next sign-in (check_needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# verified against when the user does not exist, so both answers take the same time
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class UserError(Exception):
    """A user or token operation was refused; the message says why."""


class UnknownUser(UserError):
    """No such user or token."""


class UserExists(UserError):
    """The username is taken, or the change would leave no enabled admin."""


class UserRow(Base):
    __tablename__ = "access_users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[str] = mapped_column(String(32))
    sites: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    care_units: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OidcLinkRow(Base):
    """The provider's stable subject (issuer + ``sub``) an admin linked to one user. Only a
    digest of the subject is kept: at Swedish e-ID providers it can be a personnummer."""

    __tablename__ = "access_oidc_links"
    __table_args__ = (UniqueConstraint("issuer", "subject_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("access_users.id"), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInLockRow(Base):
    """Consecutive wrong passwords for one user from one source address, and its lock."""

    __tablename__ = "access_sign_in_locks"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TokenRow(Base):
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("access_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    display_name: str | None
    role: str
    sites: tuple[str, ...]
    care_units: tuple[str, ...]
    disabled: bool
    has_password: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    oidc_linked: bool = False  # may sign in through the identity provider


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class SignIn(Enum):
    OK = "ok"
    BAD = "bad"  # unknown user or wrong password
    LOCKED = "locked"  # right or wrong, the account is locked right now
    DISABLED = "disabled"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _subject_digest(issuer: str, subject: str) -> str:
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()


def _names(values: list[str] | tuple[str, ...] | frozenset[str] | None) -> str:
    return orjson.dumps(sorted({v.strip() for v in values or () if v.strip()})).decode()


def _principal(row: UserRow, via: str) -> Principal:
    return Principal(
        row.username,
        row.role,
        frozenset(orjson.loads(row.sites)),
        frozenset(orjson.loads(row.care_units)),
        via=via,
    )


def _info(row: UserRow, s: Session | None = None) -> UserInfo:
    """The user's description; with a session, also whether an OIDC subject is linked."""
    linked = s is not None and bool(
        s.scalars(select(OidcLinkRow.id).where(OidcLinkRow.user_id == row.id)).first()
    )
    return UserInfo(
        row.username,
        row.display_name,
        row.role,
        tuple(orjson.loads(row.sites)),
        tuple(orjson.loads(row.care_units)),
        row.disabled,
        row.password_hash is not None,
        row.locked_until,
        row.created_at,
        row.last_login_at,
        linked,
    )


def _token_info(row: TokenRow, username: str) -> TokenInfo:
    return TokenInfo(
        row.id, username, row.name, row.created_at, row.expires_at, row.revoked_at, row.last_used_at
    )


class UserStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()

    # --- users ------------------------------------------------------------------------
    def add(
        self,
        username: str,
        role: str,
        now: datetime,
        *,
        password: str | None = None,
        sites: list[str] | tuple[str, ...] | None = None,
        care_units: list[str] | tuple[str, ...] | None = None,
        display_name: str | None = None,
    ) -> UserInfo:
        username = username.strip().lower()
        if not _NAME.match(username):
            raise UserError("username: 2-64 of a-z 0-9 . _ @ -, starting with a letter or digit")
        self._check_role(role)
        with self._sessions() as s:
            if s.scalars(select(UserRow).where(UserRow.username == username)).first():
                raise UserExists(f"user {username!r} exists")
            row = UserRow(
                username=username,
                display_name=display_name,
                role=role,
                sites=_names(sites),
                care_units=_names(care_units),
                password_hash=_hash_password(password) if password is not None else None,
                created_at=now,
            )
            s.add(row)
            s.commit()
            return _info(row)

    def get(self, username: str) -> UserInfo:
        with self._sessions() as s:
            return _info(self._row(s, username), s)

    def all(self) -> list[UserInfo]:
        with self._sessions() as s:
            linked = set(s.scalars(select(OidcLinkRow.user_id)))
            return [
                replace(_info(r), oidc_linked=r.id in linked)
                for r in s.scalars(select(UserRow).order_by(UserRow.username))
            ]

    def update(
        self,
        username: str,
        *,
        role: str | None = None,
        sites: list[str] | None = None,
        care_units: list[str] | None = None,
        disabled: bool | None = None,
        display_name: str | None = None,
    ) -> tuple[UserInfo, UserInfo]:
        """Change a user; returns (before, after) so the caller can record the change."""
        if role is not None:
            self._check_role(role)
        with self._sessions() as s:
            row = self._row(s, username)
            before = _info(row, s)
            if role is not None:
                row.role = role
            if sites is not None:
                row.sites = _names(sites)
            if care_units is not None:
                row.care_units = _names(care_units)
            if disabled is not None:
                row.disabled = disabled
            if display_name is not None:
                row.display_name = display_name
            after = _info(row, s)
            if (before.role, before.sites, before.care_units, before.disabled) != (
                after.role,
                after.sites,
                after.care_units,
                after.disabled,
            ):
                # what the user may do changed: every open session ends (re-sign-in)
                row.session_generation += 1
            s.flush()
            admins = s.scalars(
                select(UserRow).where(UserRow.role == "admin", UserRow.disabled.is_(False))
            ).first()
            if admins is None:
                s.rollback()
                raise UserExists("refused: no enabled admin would be left")
            s.commit()
            return before, after

    def set_password(self, username: str, password: str) -> None:
        with self._sessions() as s:
            row = self._row(s, username)
            row.password_hash = _hash_password(password)
            row.failed_logins, row.locked_until = 0, None
            row.session_generation += 1  # a stolen session must not outlive the old password
            s.execute(delete(SignInLockRow).where(SignInLockRow.username == row.username))
            s.commit()

    def session_generation(self, username: str) -> int:
        """What a new web session of this user remembers (see the module docstring)."""
        with self._sessions() as s:
            return self._row(s, username).session_generation

    def principal(
        self, username: str, via: str = "session", *, generation: int | None = None
    ) -> Principal | None:
        """The user as a Principal, or None when unknown, disabled, or (``generation`` given)
        changed since the session was made."""
        with self._sessions() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
            if row is None or row.disabled:
                return None
            if generation is not None and row.session_generation != generation:
                return None
            return _principal(row, via)

    def sign_in(
        self, username: str, password: str, now: datetime, source: str = "unknown"
    ) -> SignIn:
        """Check a password typed at ``source`` (the client address); see "Lockout" above."""
        username = username.strip().lower()
        source = source[:64]
        with self._lock, self._sessions() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
            if row is None or row.password_hash is None:
                _verify(_DUMMY_HASH, password)
                return SignIn.BAD
            ok = _verify(row.password_hash, password)
            lock = s.get(SignInLockRow, (username, source))
            if lock is not None and lock.locked_until is not None and lock.locked_until > now:
                return SignIn.LOCKED
            if row.disabled:
                return SignIn.DISABLED
            if not ok:
                # forget what has run its course, so the table stays small whoever knocks
                s.execute(
                    delete(SignInLockRow).where(
                        SignInLockRow.last_failure_at < now - LOCK_FOR,
                        or_(
                            SignInLockRow.locked_until.is_(None),
                            SignInLockRow.locked_until < now,
                        ),
                    )
                )
                lock = s.get(SignInLockRow, (username, source))
                if lock is None:
                    lock = SignInLockRow(
                        username=username, source=source, failures=0, last_failure_at=now
                    )
                    s.add(lock)
                lock.failures, lock.last_failure_at = lock.failures + 1, now
                if lock.failures >= LOCK_AFTER:
                    lock.locked_until, lock.failures = now + LOCK_FOR, 0
                    # shown to admins (users list); enforcement is per source, above
                    row.locked_until = lock.locked_until
                s.commit()
                locked = lock.locked_until is not None and lock.locked_until > now
                return SignIn.LOCKED if locked else SignIn.BAD
            row.last_login_at = now
            if lock is not None:
                s.delete(lock)
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hash_password(password)
            s.commit()
            return SignIn.OK

    def unlock(self, username: str) -> None:
        """Lift every source's lock on this user."""
        with self._sessions() as s:
            row = self._row(s, username)
            row.failed_logins, row.locked_until = 0, None
            s.execute(delete(SignInLockRow).where(SignInLockRow.username == row.username))
            s.commit()

    # --- OpenID Connect links -----------------------------------------------------------
    def link_oidc(self, username: str, issuer: str, subject: str, now: datetime) -> None:
        """Let the provider's ``issuer`` + ``subject`` sign in as ``username`` (replacing the
        user's previous link). Admin accounts are refused: they sign in only here."""
        issuer, subject = issuer.strip().rstrip("/"), subject.strip()
        if not issuer or not subject or len(issuer) > 500 or len(subject) > 255:
            raise UserError("an OIDC link needs an issuer (≤ 500) and a subject (≤ 255 chars)")
        with self._sessions() as s:
            row = self._row(s, username)
            if row.role == "admin" or row.username == BUILTIN_ADMIN:
                raise UserExists(
                    f"refused: {row.username!r} is an admin account; admins sign in with a "
                    "password here, never through the identity provider"
                )
            digest = _subject_digest(issuer, subject)
            taken = s.scalars(
                select(OidcLinkRow).where(
                    OidcLinkRow.issuer == issuer, OidcLinkRow.subject_digest == digest
                )
            ).first()
            if taken is not None and taken.user_id != row.id:
                raise UserExists("refused: that subject is linked to another user; unlink it first")
            s.execute(delete(OidcLinkRow).where(OidcLinkRow.user_id == row.id))
            s.add(OidcLinkRow(user_id=row.id, issuer=issuer, subject_digest=digest, created_at=now))
            s.commit()

    def unlink_oidc(self, username: str) -> None:
        with self._sessions() as s:
            row = self._row(s, username)
            gone = s.execute(delete(OidcLinkRow).where(OidcLinkRow.user_id == row.id))
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise UnknownUser(f"user {row.username!r} has no OIDC link")
            row.session_generation += 1
            s.commit()

    def oidc_user(self, issuer: str, subject: str) -> Principal | None:
        """The user linked to this verified subject; None when none, disabled or an admin."""
        issuer = issuer.rstrip("/")
        digest = _subject_digest(issuer, subject)
        with self._sessions() as s:
            row = s.scalars(
                select(UserRow)
                .join(OidcLinkRow, OidcLinkRow.user_id == UserRow.id)
                .where(OidcLinkRow.issuer == issuer, OidcLinkRow.subject_digest == digest)
            ).first()
            if row is None or row.disabled or row.role == "admin":
                return None
            return _principal(row, "session")

    # --- tokens -----------------------------------------------------------------------
    def create_token(
        self,
        username: str,
        name: str,
        now: datetime,
        *,
        expires_at: datetime | None = None,
        plaintext: str | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new token for the user: (plaintext, shown once; its stored description)."""
        token = plaintext or TOKEN_PREFIX + secrets.token_urlsafe(32)
        if expires_at is not None and expires_at <= now:
            raise UserError("a token must expire in the future")
        with self._sessions() as s:
            user = self._row(s, username)
            row = TokenRow(
                user_id=user.id,
                name=name[:100] or "token",
                digest=hash_token(token),
                created_at=now,
                expires_at=expires_at,
            )
            s.add(row)
            s.commit()
            return token, _token_info(row, user.username)

    def tokens(self, username: str | None = None) -> list[TokenInfo]:
        query = select(TokenRow, UserRow.username).join(UserRow, TokenRow.user_id == UserRow.id)
        if username is not None:
            query = query.where(UserRow.username == username)
        with self._sessions() as s:
            return [_token_info(t, u) for t, u in s.execute(query.order_by(TokenRow.id))]

    def revoke_token(
        self, token_id: int, now: datetime, *, username: str | None = None
    ) -> TokenInfo:
        """Revoke one token (of ``username`` only, when given)."""
        with self._sessions() as s:
            found = s.execute(
                select(TokenRow, UserRow.username)
                .join(UserRow, TokenRow.user_id == UserRow.id)
                .where(TokenRow.id == token_id)
            ).first()
            if found is None or (username is not None and found[1] != username):
                raise UnknownUser(f"no token {token_id}")
            row, owner = found
            if row.revoked_at is None:
                row.revoked_at = now
            s.commit()
            return _token_info(row, owner)

    def verify_token(self, token: str, now: datetime) -> Principal | None:
        """The token's user, when the token is known, live and its user enabled."""
        digest = hash_token(token)
        with self._sessions() as s:
            found = s.execute(
                select(TokenRow, UserRow)
                .join(UserRow, TokenRow.user_id == UserRow.id)
                .where(TokenRow.digest == digest)
            ).first()
            if found is None:
                return None
            row, user = found
            if row.revoked_at is not None or user.disabled:
                return None
            if row.expires_at is not None and row.expires_at <= now:
                return None
            # last use to the minute: enough for review, without a write on every request
            if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
                row.last_used_at = now
                s.commit()
            return _principal(user, f"token:{row.id}")

    def ensure_bootstrap_admin(self, admin_token: str, now: datetime) -> None:
        """The built-in admin user and the bootstrap token (``KOMMUNVAKT_ADMIN_TOKEN`` or
        data_dir/admin_token) as one of its API tokens. A changed bootstrap token replaces the
        previous one; a revoked one stays revoked."""
        with self._lock, self._sessions() as s:
            admin = s.scalars(select(UserRow).where(UserRow.username == BUILTIN_ADMIN)).first()
            if admin is None:
                admin = UserRow(
                    username=BUILTIN_ADMIN,
                    display_name="Inbyggd administratör",
                    role="admin",
                    sites="[]",
                    care_units="[]",
                    created_at=now,
                )
                s.add(admin)
                s.flush()
            digest = hash_token(admin_token)
            if s.scalars(select(TokenRow).where(TokenRow.digest == digest)).first() is None:
                for old in s.scalars(
                    select(TokenRow).where(
                        TokenRow.user_id == admin.id,
                        TokenRow.name == BOOTSTRAP_TOKEN_NAME,
                        TokenRow.revoked_at.is_(None),
                    )
                ):
                    old.revoked_at = now
                s.add(
                    TokenRow(
                        user_id=admin.id, name=BOOTSTRAP_TOKEN_NAME, digest=digest, created_at=now
                    )
                )
            s.commit()

    # --- helpers ----------------------------------------------------------------------
    @staticmethod
    def _check_role(role: str) -> None:
        if role not in ROLES:
            raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")

    @staticmethod
    def _row(s: Session, username: str) -> UserRow:
        row = s.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).first()
        if row is None:
            raise UnknownUser(f"no user {username!r}")
        return row


MIN_PASSWORD = 10


def _hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
