"""Claiming a device the gateway heard but did not know: register it under the ref it used,
then ingest what it sent in the last 24 h, so that nothing it said is lost. The readings go
the way the gateway's own go (store, rules, listeners): through its ``accept``, passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from devices.errors import NotFound
from devices.quarantine import QuarantineStore
from devices.registry import DeviceInfo, DeviceRegistry
from devices.schemas import ClaimRequest, DeviceCreate, DevicePublic, DeviceRef

if TYPE_CHECKING:
    from devices.reading import Reading

__all__ = ["CLAIM_WINDOW", "Accept", "ClaimResult", "claim_unknown", "device_id_for"]

CLAIM_WINDOW = timedelta(hours=24)
_SOURCES = {"native", "chirpstack", "ttn", "zigbee2mqtt", "tasmota", "senml"}


class Accept(Protocol):
    """The gateway's way in for decoded readings of registered devices (``Pipeline.accept``):
    store, then rules, then listeners. Raises only when the store fails."""

    def __call__(self, matched: Sequence[tuple[DeviceInfo, Reading]]) -> None: ...


@dataclass(frozen=True, slots=True)
class ClaimResult:
    device: DevicePublic
    ingested: int


def device_id_for(ref: str) -> str:
    """A registry id from a source's ref (a z2m friendly name may hold spaces or slashes)."""
    slug = re.sub(r"[^A-Za-z0-9_.:-]+", "-", ref).strip("-._:")[:64]
    return slug or "device"


def claim_unknown(
    ref: str,
    req: ClaimRequest,
    *,
    registry: DeviceRegistry,
    quarantine: QuarantineStore,
    accept: Accept,
    installed_by: str,
    now: datetime,
) -> ClaimResult:
    from devices.reading import Reading  # the edge where registry meets ingest

    unknown = quarantine.get_unknown(ref)
    if unknown is None:
        raise NotFound(f"no unknown device with ref {ref!r} (claimed already, or never heard)")
    source = unknown.family if unknown.family in _SOURCES else "other"
    new = DeviceCreate(
        id=req.id or device_id_for(ref),
        type=req.type,
        name=req.name,
        site_id=req.site_id,
        place=req.place,
        place_id=req.place_id,
        care_unit_id=req.care_unit_id,
        refs=[DeviceRef(source=source, ref=ref)],  # type: ignore[arg-type]
        installed_by=installed_by,
        notes=req.notes,
    )
    device = registry.create(new, now=now)
    # From here the gateway knows the ref: new messages are stored directly. What waited in
    # quarantine goes the way the gateway's readings go.
    taken = quarantine.take(ref, now - CLAIM_WINDOW)
    info: DeviceInfo | None = registry.info(device.id)
    assert info is not None
    accept([(info, Reading(ref, r.time, r.metric, r.value, r.unit)) for r in taken])
    return ClaimResult(device, len(taken))
