"""REST routes for sites (opening hours, holidays), places, care units and the type catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from access.auth import AccessDenied, RequireUser
from access.scope import may_use_care_unit, visible_sites
from devices.catalogue import CATALOGUE
from devices.deps import Registry
from devices.schemas import (
    CareUnitCreate,
    CareUnitPublic,
    CareUnitUpdate,
    PlaceCreate,
    PlacePublic,
    PlaceUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.get("/sites", response_model=list[SitePublic], tags=["sites"])
def list_sites(
    registry: Registry, user: RequireUser, municipality: str | None = None
) -> list[SitePublic]:
    return registry.list_sites(municipality, site_in=visible_sites(user))


@router.post(
    "/sites", response_model=SitePublic, status_code=status.HTTP_201_CREATED, tags=["sites"]
)
def create_site(body: SiteCreate, registry: Registry, user: RequireUser) -> SitePublic:
    if visible_sites(user) is not None:  # scoped to some sites: a new one would be outside
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "your scope is a list of sites: an admin (or an all-sites user) adds new sites",
        )
    return registry.create_site(body)


@router.get("/sites/{site_id}", response_model=SitePublic, tags=["sites"])
def get_site(site_id: str, registry: Registry, _user: RequireUser) -> SitePublic:
    return registry.get_site(site_id)


@router.patch("/sites/{site_id}", response_model=SitePublic, tags=["sites"])
def update_site(
    site_id: str, body: SiteUpdate, registry: Registry, _user: RequireUser
) -> SitePublic:
    return registry.update_site(site_id, body)


@router.delete("/sites/{site_id}", status_code=NO_CONTENT, tags=["sites"])
def delete_site(site_id: str, registry: Registry, _user: RequireUser) -> None:
    registry.delete_site(site_id)


@router.get("/places", response_model=list[PlacePublic], tags=["sites"])
def list_places(
    registry: Registry, user: RequireUser, site_id: str | None = None
) -> list[PlacePublic]:
    return registry.list_places(site_id, site_in=visible_sites(user))


@router.post(
    "/places", response_model=PlacePublic, status_code=status.HTTP_201_CREATED, tags=["sites"]
)
def create_place(body: PlaceCreate, registry: Registry, user: RequireUser) -> PlacePublic:
    if not user.may_see_site(body.site_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"site {body.site_id!r} is outside your scope"
        )
    return registry.create_place(body)


@router.get("/places/{place_id}", response_model=PlacePublic, tags=["sites"])
def get_place(place_id: str, registry: Registry, _user: RequireUser) -> PlacePublic:
    return registry.get_place(place_id)


@router.patch("/places/{place_id}", response_model=PlacePublic, tags=["sites"])
def update_place(
    place_id: str, body: PlaceUpdate, registry: Registry, _user: RequireUser
) -> PlacePublic:
    return registry.update_place(place_id, body)


@router.delete("/places/{place_id}", status_code=NO_CONTENT, tags=["sites"])
def delete_place(place_id: str, registry: Registry, _user: RequireUser) -> None:
    registry.delete_place(place_id)


@router.get("/care-units", response_model=list[CareUnitPublic], tags=["sites"])
def list_care_units(registry: Registry, user: RequireUser) -> list[CareUnitPublic]:
    return [u for u in registry.list_care_units() if may_use_care_unit(user, u.id, u.site_id)]


@router.post(
    "/care-units",
    response_model=CareUnitPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["sites"],
)
def create_care_unit(
    body: CareUnitCreate, registry: Registry, _user: RequireUser
) -> CareUnitPublic:
    return registry.create_care_unit(body)


@router.get("/care-units/{unit_id}", response_model=CareUnitPublic, tags=["sites"])
def get_care_unit(unit_id: str, registry: Registry, user: RequireUser) -> CareUnitPublic:
    unit = registry.get_care_unit(unit_id)
    if not may_use_care_unit(user, unit.id, unit.site_id):
        raise AccessDenied(f"care unit {unit_id!r} is outside your sites and care units")
    return unit


@router.patch("/care-units/{unit_id}", response_model=CareUnitPublic, tags=["sites"])
def update_care_unit(
    unit_id: str, body: CareUnitUpdate, registry: Registry, _user: RequireUser
) -> CareUnitPublic:
    return registry.update_care_unit(unit_id, body)


@router.delete("/care-units/{unit_id}", status_code=NO_CONTENT, tags=["sites"])
def delete_care_unit(unit_id: str, registry: Registry, _user: RequireUser) -> None:
    registry.delete_care_unit(unit_id)


@router.get("/device-types", tags=["devices"])
def device_types(_user: RequireUser) -> list[dict[str, Any]]:
    return [t.as_json() for t in CATALOGUE.values()]
