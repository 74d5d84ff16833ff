"""Object scopes checked centrally from the route's path parameters.

After the role check, ``authorize`` calls ``check_object_scope``: a route whose path names a
site (``{site_id}``), a device (``{device_id}``, via the registry), an alert (``{alert_id}``,
via its device) or a place (``{place_id}``, via its site) answers 403 to a principal whose
site scope does not cover it; a care-data
route (``care.*``) naming a care unit (``{unit_id}``, ``{care_unit_id}``) likewise by care unit.
Unknown objects are let through so the route answers its own 404. Lists are not filtered
here: list routes filter with ``Principal.may_see_site`` / ``may_see_care_unit`` themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from access.auth import AccessDenied, Principal

__all__ = ["check_object_scope", "visible_care_units", "visible_sites"]


def visible_sites(principal: Principal) -> frozenset[str] | None:
    """The sites a list route may show ``principal``; None means every site (and objects
    without one). For list routes: ``if (s := visible_sites(user)) is not None: filter``."""
    return None if principal.is_admin or "*" in principal.sites else principal.sites


def visible_care_units(principal: Principal) -> frozenset[str] | None:
    """The care units a list route may show ``principal``; None means every unit."""
    return None if principal.is_admin or "*" in principal.care_units else principal.care_units


def _site_of(request: Request, lookup: str, object_id: str) -> tuple[bool, str | None]:
    """(known, its site) of a device or place named on the path: ``lookup`` is the registry
    method (``get`` or ``get_place``). Unknown objects: the route answers its own 404."""
    registry = getattr(request.app.state, "registry", None)
    if registry is None:
        return False, None
    try:
        found = getattr(registry, lookup)(object_id)
    except Exception:  # unknown: the route answers 404 itself
        return False, None
    return True, getattr(found, "site_id", None)


def _alert_device(request: Request, alert_id: Any) -> str | None:
    store = getattr(request.app.state, "alert_store", None)
    if store is None:
        return None
    try:
        return str(store.get(int(alert_id)).device_id)
    except Exception:  # unknown or malformed id: the route answers 404/422 itself
        return None


def check_object_scope(request: Request, principal: Principal, action: str) -> None:
    if principal.is_admin:
        return
    params = request.path_params
    if action.startswith("care."):
        for key in ("unit_id", "care_unit_id"):
            if key in params:
                principal.require_care_unit(str(params[key]))
        return
    if "*" in principal.sites:
        return
    if "site_id" in params:
        principal.require_site(str(params["site_id"]))
    if "place_id" in params:
        known, site = _site_of(request, "get_place", str(params["place_id"]))
        if known:
            principal.require_site(site)
    device_id = params.get("device_id")
    if device_id is None and "alert_id" in params:
        device_id = _alert_device(request, params["alert_id"])
    if device_id is not None:
        known, site = _site_of(request, "get", str(device_id))
        if known and not principal.may_see_site(site):
            raise AccessDenied(f"{principal.name} may not see device {device_id!r} (site scope)")
