"""REST routes of the registry under ``/api/v1``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel

from access.auth import RequireUser
from devices.catalogue import CATALOGUE
from devices.quarantine import QuarantineStore
from devices.registry import DeviceRegistry
from devices.schemas import DeviceCreate, DevicePublic, DeviceUpdate, SiteCreate

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["devices"])


def _registry(request: Request) -> DeviceRegistry:
    registry: DeviceRegistry = request.app.state.registry
    return registry


def _quarantine(request: Request) -> QuarantineStore:
    store: QuarantineStore = request.app.state.quarantine
    return store


Registry = Annotated[DeviceRegistry, Depends(_registry)]


class DevicePage(BaseModel):
    items: list[DevicePublic]
    total: int
    offset: int
    limit: int


class LatestPublic(BaseModel):
    metric: str
    value: float | bool | str
    unit: str | None
    time: datetime


@router.get("/devices", response_model=DevicePage)
def list_devices(
    registry: Registry,
    _user: RequireUser,
    site_id: str | None = None,
    type: str | None = None,
    state: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DevicePage:
    items, total = registry.list(
        site_id=site_id, type=type, state=state, offset=offset, limit=limit
    )
    return DevicePage(items=items, total=total, offset=offset, limit=limit)


@router.post("/devices", response_model=DevicePublic, status_code=status.HTTP_201_CREATED)
def create_device(body: DeviceCreate, registry: Registry, user: RequireUser) -> DevicePublic:
    if body.installed_by is None:
        body = body.model_copy(update={"installed_by": user.name})
    return registry.create(body, now=datetime.now(UTC))


@router.get("/devices/{device_id}", response_model=DevicePublic)
def get_device(device_id: str, registry: Registry, _user: RequireUser) -> DevicePublic:
    return registry.get(device_id)


@router.patch("/devices/{device_id}", response_model=DevicePublic)
def update_device(
    device_id: str, body: DeviceUpdate, registry: Registry, _user: RequireUser
) -> DevicePublic:
    return registry.update(device_id, body)


@router.get("/devices/{device_id}/latest", response_model=list[LatestPublic])
def latest(
    device_id: str, request: Request, registry: Registry, _user: RequireUser
) -> list[LatestPublic]:
    registry.get(device_id)  # 404 for an unknown device
    values = request.app.state.store.latest(device_id)
    return [LatestPublic(metric=v.metric, value=v.value, unit=v.unit, time=v.time) for v in values]


@router.get("/sites", response_model=list[SiteCreate])
def list_sites(registry: Registry, _user: RequireUser) -> list[SiteCreate]:
    return registry.list_sites()


@router.post("/sites", response_model=SiteCreate, status_code=status.HTTP_201_CREATED)
def create_site(body: SiteCreate, registry: Registry, _user: RequireUser) -> SiteCreate:
    return registry.create_site(body)


@router.get("/device-types")
def device_types(_user: RequireUser) -> list[dict[str, Any]]:
    return [
        {
            "key": t.key,
            "name_sv": t.name_sv,
            "name_en": t.name_en,
            "metrics": list(t.metrics),
            "expected_interval_s": t.expected_interval_s,
        }
        for t in CATALOGUE.values()
    ]


@router.get("/unknown-devices")
def unknown_devices(request: Request, _user: RequireUser) -> list[dict[str, Any]]:
    return [
        {
            "ref": u.ref,
            "family": u.family,
            "topic": u.topic,
            "last_payload": u.last_payload,
            "first_seen": u.first_seen,
            "last_seen": u.last_seen,
            "messages": u.messages,
        }
        for u in _quarantine(request).list_unknown()
    ]
