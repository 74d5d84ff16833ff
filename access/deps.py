"""The access layer's services as route dependencies: ``Audit`` for the audit log.

The provider raises until the composition root (``gateway.deps.wire``) overrides it with the
platform's instance: a route never reaches into ``app.state``, and this package never imports
the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends
from pydantic import SecretStr

from access.audit import AuditLog
from access.scope import AlertLookup, SiteLookup
from access.users import UserStore

__all__ = [
    "AccessConfig",
    "AccessSettings",
    "Alerts",
    "Audit",
    "Clock",
    "NotWired",
    "Now",
    "Sites",
    "Users",
    "access_settings",
    "alert_lookup",
    "audit_log",
    "clock",
    "now",
    "site_lookup",
    "user_store",
]


class AccessSettings(Protocol):
    """What the access layer reads of the settings (``gateway.settings.Settings`` has it)."""

    @property
    def base_url(self) -> str | None: ...

    @property
    def max_request_bytes(self) -> int: ...

    @property
    def trusted_proxies(self) -> Sequence[str]: ...

    @property
    def oidc_issuer(self) -> str | None: ...

    @property
    def oidc_client_id(self) -> str | None: ...

    @property
    def oidc_client_secret(self) -> SecretStr | None: ...

    @property
    def oidc_subject_claim(self) -> str: ...


class NotWired(RuntimeError):
    """A route asked for a service the composition root did not provide."""

    def __init__(self, provider: str) -> None:
        super().__init__(
            f"{provider} is not wired: build the app with gateway.app.create_app, "
            "which provides every service the routes use"
        )


def audit_log() -> AuditLog:
    raise NotWired("access.deps.audit_log")


Audit = Annotated[AuditLog, Depends(audit_log)]


def user_store() -> UserStore:
    raise NotWired("access.deps.user_store")


def clock() -> Callable[[], datetime]:
    """The platform's clock (tests pass a fixed one)."""
    raise NotWired("access.deps.clock")


def access_settings() -> AccessSettings:
    raise NotWired("access.deps.access_settings")


Users = Annotated[UserStore, Depends(user_store)]
Clock = Annotated[Callable[[], datetime], Depends(clock)]


def now(platform_clock: Clock) -> datetime:
    """The platform clock's time, read once when the request's dependencies are solved."""
    return platform_clock()


Now = Annotated[datetime, Depends(now)]
AccessConfig = Annotated[AccessSettings, Depends(access_settings)]


def site_lookup() -> SiteLookup:
    raise NotWired("access.deps.site_lookup")


def alert_lookup() -> AlertLookup:
    raise NotWired("access.deps.alert_lookup")


Sites = Annotated[SiteLookup, Depends(site_lookup)]
Alerts = Annotated[AlertLookup, Depends(alert_lookup)]
