"""Optional sign-in through the municipality's identity provider (OpenID Connect, Authlib).

Authorisation-code flow with PKCE (S256), ``state`` bound to the browser by an HttpOnly
cookie, and a ``nonce`` checked in the ID token, which is verified against the provider's JWKS
(joserfc) for issuer, audience, expiry and nonce. The provider only says *who* someone is, by
its stable subject: the issuer plus ``oidc_subject_claim`` (default ``sub``). A name the
provider sends (``preferred_username``, e-mail) is never used to pick a user: any provider
account may choose one, and ``ADMIN`` would have signed in as the built-in admin. An admin
links a subject to a user here (``kommunvakt users link-oidc`` or
``PUT /api/v1/users/{username}/oidc``); the user gets the role and scopes given here, never
roles from the provider (least privilege), and admin accounts are never linked.
Configured by ``oidc_issuer``, ``oidc_client_id`` and ``oidc_client_secret``; all three or none.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

__all__ = ["OidcClient", "OidcConfig", "OidcError", "OidcIdentity", "PendingLogin"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PENDING_FOR = timedelta(minutes=10)


class OidcError(Exception):
    """OIDC is misconfigured, the provider is unreachable, or a sign-in did not verify."""


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    subject_claim: str = "sub"
    scope: str = "openid profile email"

    @classmethod
    def from_settings(cls, settings: Any) -> OidcConfig | None:
        """None when not configured; ``OidcError`` when half-configured or unsafe."""
        issuer = getattr(settings, "oidc_issuer", None)
        client_id = getattr(settings, "oidc_client_id", None)
        secret = getattr(settings, "oidc_client_secret", None)
        secret_value = secret.get_secret_value() if secret is not None else None
        given = [v for v in (issuer, client_id, secret_value) if v]
        if not given:
            return None
        if len(given) != 3:
            raise OidcError(
                "OpenID Connect needs oidc_issuer, oidc_client_id and oidc_client_secret together"
            )
        parts = urlsplit(str(issuer))
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise OidcError("oidc_issuer must be an https:// URL")
        if parts.query or parts.fragment:
            raise OidcError("oidc_issuer must not have a query or fragment")
        claim = getattr(settings, "oidc_subject_claim", None) or "sub"
        return cls(str(issuer).rstrip("/"), str(client_id), str(secret_value), claim)


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """Who the provider vouched for: stable, never reassigned, and not a display name."""

    issuer: str
    subject: str


@dataclass(frozen=True, slots=True)
class PendingLogin:
    state: str
    nonce: str
    code_verifier: str
    next: str
    created: datetime


class OidcClient:
    def __init__(self, config: OidcConfig, *, timeout: float = 10.0) -> None:
        self.config = config
        self._timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._pending: dict[str, PendingLogin] = {}
        self._lock = threading.Lock()

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once)."""
        if self._metadata is None:
            url = f"{self.config.issuer}/.well-known/openid-configuration"
            try:
                resp = httpx.get(url, timeout=self._timeout)
                resp.raise_for_status()
                meta: dict[str, Any] = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcError(f"cannot read the provider's discovery document: {exc}") from exc
            if meta.get("issuer", "").rstrip("/") != self.config.issuer:
                raise OidcError("the discovery document names another issuer")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not meta.get(key):
                    raise OidcError(f"the discovery document has no {key}")
            self._metadata = meta
        return self._metadata

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            self.config.client_id,
            self.config.client_secret,
            scope=self.config.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
        )

    def begin(self, redirect_uri: str, next_path: str, now: datetime) -> tuple[str, PendingLogin]:
        """The provider URL to send the browser to, and what the callback must match."""
        meta = self.metadata()
        pending = PendingLogin(
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
            next_path,
            now,
        )
        with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                meta["authorization_endpoint"],
                state=pending.state,
                code_verifier=pending.code_verifier,
                nonce=pending.nonce,
            )
        with self._lock:
            for k in [k for k, v in self._pending.items() if now - v.created > PENDING_FOR]:
                del self._pending[k]
            self._pending[pending.state] = pending
        return str(url), pending

    def take(self, state: str, now: datetime) -> PendingLogin | None:
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or now - pending.created > PENDING_FOR:
            return None
        return pending

    def complete(
        self, code: str, pending: PendingLogin, redirect_uri: str, now: datetime
    ) -> OidcIdentity:
        """Exchange the code, verify the ID token; returns the verified issuer + subject."""
        meta = self.metadata()
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    meta["token_endpoint"], code=code, code_verifier=pending.code_verifier
                )
            id_token = token.get("id_token")
            if not id_token:
                raise OidcError("the provider returned no ID token")
            jwks = httpx.get(meta["jwks_uri"], timeout=self._timeout).json()
            keys = KeySet.import_key_set(jwks)
            decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
            jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=60,
                iss={"essential": True, "value": self.config.issuer},
                aud={"essential": True, "value": self.config.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": pending.nonce},
            ).validate(decoded.claims)
        except OidcError:
            raise
        except (JoseError, httpx.HTTPError, ValueError, KeyError) as exc:
            raise OidcError(f"the sign-in did not verify: {type(exc).__name__}") from exc
        except Exception as exc:  # Authlib's OAuth errors have no common root we can name
            raise OidcError(f"the token exchange failed: {type(exc).__name__}") from exc
        subject = decoded.claims.get(self.config.subject_claim)
        if not isinstance(subject, str) or not subject.strip():
            raise OidcError(f"the ID token has no {self.config.subject_claim} claim")
        return OidcIdentity(self.config.issuer, subject.strip())
