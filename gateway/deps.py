"""Route dependencies, filled by the composition root.

Each domain declares the services its routes need as small ``Annotated`` aliases over a
provider function in its own package (``alerts.deps.AlertingDep``, ``access.deps.Audit``,
...): a domain never imports the gateway. ``wire`` points every provider at the platform's
instance through ``app.dependency_overrides``, once, when the app is built. Why overrides
rather than a services object in ``app.state``: a route's signature then names the type it
gets (checked by mypy), nothing reads ``app.state`` by attribute name, and a provider that is
not wired fails with ``NotWired`` naming it instead of an ``AttributeError`` deep in a route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from access.deps import (
    access_settings,
    alert_lookup,
    audit_log,
    clock,
    site_lookup,
    user_store,
)
from alerts.deps import alerting
from devices.deps import (
    credential_issuer,
    device_registry,
    latest_readings,
    quarantine_store,
    reading_intake,
)
from ingest.deps import dead_letter_store, reading_store
from supervision.api_common import supervision_service

if TYPE_CHECKING:
    from gateway.platform import Platform

__all__ = ["providers", "wire"]


def providers(platform: Platform) -> dict[Callable[..., Any], Callable[..., Any]]:
    """Each domain's provider → the function that returns the platform's instance."""
    return {
        audit_log: lambda: platform.audit,
        user_store: lambda: platform.users,
        clock: lambda: platform.clock,
        access_settings: lambda: platform.settings,
        site_lookup: lambda: platform.registry,
        alert_lookup: lambda: platform.alerts,
        alerting: lambda: platform.alerting,
        dead_letter_store: lambda: platform.dead_letters,
        reading_store: lambda: platform.store,
        device_registry: lambda: platform.registry,
        quarantine_store: lambda: platform.quarantine,
        latest_readings: lambda: platform.store,
        credential_issuer: lambda: platform.mqtt_issuer,
        reading_intake: lambda: platform.pipeline.accept,
        supervision_service: lambda: platform.supervision,
    }


def wire(app: FastAPI, platform: Platform) -> None:
    app.dependency_overrides.update(providers(platform))
