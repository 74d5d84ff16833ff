"""Seeds the demo municipality into the registry (idempotent)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from devices.errors import Conflict
from devices.schemas import DeviceCreate, SiteCreate
from gateway.platform import Platform
from simulators.demo import DEMO_DEVICES, DEMO_SITES

__all__ = ["seed_demo"]


def seed_demo(platform: Platform) -> None:
    for site in DEMO_SITES:
        with contextlib.suppress(Conflict):
            platform.registry.create_site(SiteCreate(**site))
    for device in DEMO_DEVICES:
        with contextlib.suppress(Conflict):
            new = DeviceCreate(**device)  # type: ignore[arg-type]
            platform.registry.create(new, now=datetime.now(UTC))
