"""The services the registry's routes need, as ``Annotated`` dependencies.

Each provider raises ``NotWired`` until the composition root (``gateway.deps.wire``)
overrides it with the platform's instance; this package never imports the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol

from fastapi import Depends

from access.deps import NotWired
from devices.claim import Accept
from devices.mqtt_acl import CredentialIssuer
from devices.quarantine import QuarantineStore
from devices.reading import LatestValue
from devices.registry import DeviceRegistry

__all__ = [
    "Intake",
    "Issuer",
    "Latest",
    "LatestReadings",
    "Quarantine",
    "Registry",
    "credential_issuer",
    "device_registry",
    "latest_readings",
    "quarantine_store",
    "reading_intake",
]


class LatestReadings(Protocol):
    """The reading store's newest value per metric of a device."""

    def latest(self, device_id: str) -> Sequence[LatestValue]: ...


def device_registry() -> DeviceRegistry:
    raise NotWired("devices.deps.device_registry")


def quarantine_store() -> QuarantineStore:
    raise NotWired("devices.deps.quarantine_store")


def latest_readings() -> LatestReadings:
    raise NotWired("devices.deps.latest_readings")


def credential_issuer() -> CredentialIssuer | None:
    """Who issues devices' MQTT logins; None when the broker cannot (no dynamic security)."""
    raise NotWired("devices.deps.credential_issuer")


def reading_intake() -> Accept:
    """The pipeline's way in for a claimed device's readings (``Pipeline.accept``)."""
    raise NotWired("devices.deps.reading_intake")


Registry = Annotated[DeviceRegistry, Depends(device_registry)]
Quarantine = Annotated[QuarantineStore, Depends(quarantine_store)]
Latest = Annotated[LatestReadings, Depends(latest_readings)]
Issuer = Annotated[CredentialIssuer | None, Depends(credential_issuer)]
Intake = Annotated[Accept, Depends(reading_intake)]
