"""The access layer's services as route dependencies: ``Audit`` for the audit log.

The provider raises until the composition root (``gateway.deps.wire``) overrides it with the
platform's instance: a route never reaches into ``app.state``, and this package never imports
the gateway.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from access.audit import AuditLog

__all__ = ["Audit", "NotWired", "audit_log"]


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
