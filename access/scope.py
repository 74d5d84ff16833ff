"""The one rule: which objects a principal may see, and which data is care data.

Every route, page, export, stream and query asks here, nowhere else:

- **Sites.** Building objects (sites, places, devices, building alerts, dead letters) are seen
  by site: admin and a ``*`` scope see every site and objects without one; others only the
  sites listed. Lists filter in SQL with ``site_clause``; single objects with
  ``may_see_site`` / ``check_object_scope``.
- **Care units.** Care data (residents, checks, care alerts tagged ``care_unit:<id>``, the
  readings of care devices) is seen by care unit, and only with ``care.read``: a site scope,
  even every site, never opens it. ``AlertScope`` is the SQL form of ``may_see_alert``.
- **Care data** is decided beside the sensor catalogue (``devices.catalogue.is_care_device``):
  a device is care data when its type is a care type (bed sensor, safety alarm), or it is a
  motion/presence sensor in a resident's home or room (attached to a care unit). Its readings
  are then kept in the care store, shown outside the night board only as device health, and
  its refused payloads are not kept.

After the role check, ``authorize`` calls ``check_object_scope``: a route whose path names a
site (``{site_id}``), a device (``{device_id}``), an alert (``{alert_id}``, via its own site and
care-unit tags) or a place (``{place_id}``, via its site) answers 403 to a principal whose
scope does not cover it; a care-data route (``care.*``) naming a care unit (``{unit_id}``,
``{care_unit_id}``) likewise by care unit. Unknown objects are let through so the route
answers its own 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request
from sqlalchemy import ColumnElement, String, and_, cast, false, not_, or_, true

from access.auth import AccessDenied, Principal

__all__ = [
    "CARE_TAG_PREFIX",
    "AlertScope",
    "check_object_scope",
    "may_see_alert",
    "may_use_care_unit",
    "sees_every_site",
    "site_clause",
    "visible_care_units",
    "visible_sites",
]

CARE_TAG_PREFIX = "care_unit:"

# -- may this principal see it? ----------------------------------------------------------


def visible_sites(principal: Principal) -> frozenset[str] | None:
    """The sites a list may show ``principal``; None means every site (and objects without
    one). Prefer ``site_clause`` on a SQL select."""
    return None if principal.may_see_site(None) else principal.sites


def visible_care_units(principal: Principal) -> frozenset[str] | None:
    """The care units a list may show ``principal``; None means every unit."""
    return None if principal.may_see_care_unit(None) else principal.care_units


def sees_every_site(principal: Principal) -> bool:
    """Admin and ``*`` scopes: they also see objects that have no site yet (unknown devices,
    dead letters no device could be named for)."""
    return visible_sites(principal) is None


def site_clause(principal: Principal, column: Any) -> ColumnElement[bool]:
    """The SQL condition on a site column for the rows ``principal`` may see."""
    sites = visible_sites(principal)
    if sites is None:
        return true()
    if not sites:
        return false()
    return column.in_(sorted(sites))  # type: ignore[no-any-return]


def _care_units_of(tags: Iterable[str]) -> list[str]:
    return [t.removeprefix(CARE_TAG_PREFIX) for t in tags if t.startswith(CARE_TAG_PREFIX)]


def may_see_alert(principal: Principal, site_id: str | None, tags: Iterable[str]) -> bool:
    """Building alerts by site (``alerts.read``); care alerts only by care unit
    (``care.read``), whatever the site scope."""
    units = _care_units_of(tags)
    if units:
        return principal.may("care.read") and any(principal.may_see_care_unit(u) for u in units)
    return principal.may("alerts.read") and principal.may_see_site(site_id)


def may_use_care_unit(principal: Principal, unit_id: str, unit_site: str | None) -> bool:
    """May ``principal`` list care unit ``unit_id`` (on site ``unit_site``) and attach it to a
    device? Its alarms then go to that unit's night staff, so: a unit in the principal's
    care-unit scope, or on a site in its site scope (the technician who installs in that care
    home). The unit's entry (id, name, site) says nothing about residents."""
    if principal.is_admin or principal.may_see_care_unit(unit_id):
        return True
    return unit_site is not None and principal.may_see_site(unit_site)


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tags_contain(tags_column: Any, fragment: str) -> ColumnElement[bool]:
    # tags are a JSON list stored as text (SQLite TEXT, PostgreSQL json): a tag appears as its
    # json.dumps form, quotes included, so "care_unit:a" never matches "care_unit:ab"
    return cast(tags_column, String).like(f"%{_like_literal(fragment)}%", escape="\\")


@dataclass(frozen=True)
class AlertScope:
    """``may_see_alert`` as one SQL condition, so a page of ``limit`` rows holds ``limit``
    visible rows and counts count only what the user may see. ``None`` for sites/care_units
    means every one; ``buildings``/``care``: may the user read building alerts
    (``alerts.read``) and care alerts (``care.read``) at all."""

    sites: frozenset[str] | None
    care_units: frozenset[str] | None
    buildings: bool
    care: bool

    @classmethod
    def of(cls, user: Principal) -> AlertScope:
        return cls(
            visible_sites(user),
            visible_care_units(user),
            user.may("alerts.read"),
            user.may("care.read"),
        )

    @property
    def everything(self) -> bool:
        return self.buildings and self.care and self.sites is None and self.care_units is None

    def clause(self, site_column: Any, tags_column: Any) -> ColumnElement[bool]:
        """The condition on an alert table's site and tags columns."""
        # '"care_unit:' (opening quote of a JSON string) marks a care alert
        is_care_alert = _tags_contain(tags_column, json.dumps(CARE_TAG_PREFIX)[:-1])
        building: ColumnElement[bool]
        care: ColumnElement[bool]
        if not self.buildings:
            building = false()
        elif self.sites is None:
            building = true()
        elif self.sites:
            building = site_column.in_(sorted(self.sites))
        else:
            building = false()
        if not self.care:
            care = false()
        elif self.care_units is None:
            care = true()
        else:
            care = or_(
                false(),
                *(
                    _tags_contain(tags_column, json.dumps(CARE_TAG_PREFIX + u))
                    for u in sorted(self.care_units)
                ),
            )
        return or_(and_(not_(is_care_alert), building), and_(is_care_alert, care))


# -- the object named on the path --------------------------------------------------------


class _Sited(Protocol):
    @property
    def site_id(self) -> str | None: ...


class _TaggedAlert(_Sited, Protocol):
    @property
    def tags(self) -> Sequence[str]: ...


class SiteLookup(Protocol):
    """The registry's devices and places, by id (``devices.registry.DeviceRegistry``)."""

    def get(self, device_id: str) -> _Sited: ...

    def get_place(self, place_id: str) -> _Sited: ...


class AlertLookup(Protocol):
    """Alerts by id (``alerts.store.AlertStore``)."""

    def get(self, alert_id: int) -> _TaggedAlert: ...


def _site_of(find: Callable[[str], _Sited], object_id: str) -> tuple[bool, str | None]:
    """(known, its site) of a device or place named on the path. Unknown objects: the route
    answers its own 404."""
    try:
        found = find(object_id)
    except Exception:  # unknown: the route answers 404 itself
        return False, None
    return True, found.site_id


def _alert(alerts: AlertLookup, alert_id: Any) -> _TaggedAlert | None:
    try:
        return alerts.get(int(alert_id))
    except Exception:  # unknown or malformed id: the route answers 404/422 itself
        return None


def check_object_scope(
    request: Request, principal: Principal, action: str, sites: SiteLookup, alerts: AlertLookup
) -> None:
    if principal.is_admin:
        return
    params = request.path_params
    if action.startswith("care."):
        for key in ("unit_id", "care_unit_id"):
            if key in params:
                principal.require_care_unit(str(params[key]))
        return
    if "alert_id" in params:
        alert = _alert(alerts, params["alert_id"])
        if alert is not None and not may_see_alert(principal, alert.site_id, alert.tags):
            raise AccessDenied(f"{principal.name} may not see alert {params['alert_id']}")
    if "*" in principal.sites:
        return
    if "site_id" in params:
        principal.require_site(str(params["site_id"]))
    if "place_id" in params:
        known, site = _site_of(sites.get_place, str(params["place_id"]))
        if known:
            principal.require_site(site)
    device_id = params.get("device_id")
    if device_id is not None:
        known, site = _site_of(sites.get, str(device_id))
        if known and not principal.may_see_site(site):
            raise AccessDenied(f"{principal.name} may not see device {device_id!r} (site scope)")
