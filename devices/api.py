"""REST routes of the registry under ``/api/v1``: devices, claiming, credentials, CSV.

Sites, places, care units and the type catalogue live in ``devices.api_sites``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from access.audit import AuditLog
from access.auth import Principal, RequireUser
from access.deps import Audit
from access.scope import may_use_care_unit, visible_sites
from core.bounds import Offset
from devices.bulk import ImportReport, export_csv, import_csv
from devices.catalogue import health_only, is_care_device
from devices.claim import claim_unknown
from devices.deps import Intake, Issuer, Latest, LatestReadings, Quarantine, Registry
from devices.dynsec import DynsecError
from devices.errors import NotFound
from devices.health import device_health
from devices.mqtt_acl import CredentialIssuer
from devices.quarantine import shown_to
from devices.registry import DeviceRegistry
from devices.schemas import (
    ClaimRequest,
    DeviceCreate,
    DevicePublic,
    DeviceUpdate,
    HealthStatus,
    MqttCredentials,
)

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["devices"])


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


class ClaimPublic(BaseModel):
    device: DevicePublic
    ingested_readings: int


def with_health(readings: LatestReadings, device: DevicePublic, now: datetime) -> DevicePublic:
    values = readings.latest(device.id)
    return device.model_copy(
        update={"health": device_health(values, device.expected_interval_s, now)}
    )


def _audit(
    audit: AuditLog,
    request: Request,
    user: Principal,
    action: str,
    target: str | None,
    **details: Any,
) -> None:
    audit.record(
        datetime.now(UTC),
        user.name,
        action,
        "device",
        target,
        source_ip=request.client.host if request.client else None,
        details=details or None,
    )


def _visible(user: Principal, device: DevicePublic) -> DevicePublic:
    """Defence in depth: ``access.scope`` already answers 403 for a device outside the
    user's site scope before the route runs; should a route escape it, report it missing."""
    if not user.may_see_site(device.site_id):
        raise NotFound(f"device {device.id!r} does not exist")
    return device


def _may_place(user: Principal, site_id: str | None) -> None:
    if site_id is not None and not user.may_see_site(site_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"site {site_id!r} is outside your scope")


def _may_put(
    registry: DeviceRegistry,
    user: Principal,
    site_id: str | None,
    place_id: str | None,
    care_unit_id: str | None,
) -> None:
    """403 unless the site, the place's site and the care unit are the caller's to use: a
    device must not be moved or claimed into another site, and a care unit attached to a
    device gets its alarms (``access.scope.may_use_care_unit``)."""
    _may_place(user, site_id)
    if place_id is not None:
        _may_place(user, registry.get_place(place_id).site_id)
    if care_unit_id is not None:
        unit = registry.get_care_unit(care_unit_id)
        if not may_use_care_unit(user, unit.id, unit.site_id):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"care unit {care_unit_id!r} is outside your sites and care units",
            )


def _keeps_care(user: Principal, device: DevicePublic, body: DeviceUpdate) -> None:
    """Whether a device is care data is the care administrator's decision: a technician may
    not change a care device's type or care unit (the registry refuses, for everyone, a
    change that would turn it into building telemetry)."""
    if not is_care_device(device.type, device.care_unit_id) or user.may("care.admin"):
        return
    fields = body.model_fields_set
    retyped = "type" in fields and body.type is not None and body.type != device.type
    moved = "care_unit_id" in fields and body.care_unit_id != device.care_unit_id
    if retyped or moved:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"device {device.id!r} is care data: only a care administrator may change its "
            "type or care unit",
        )


def _issuer(issuer: CredentialIssuer | None) -> CredentialIssuer:
    if issuer is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "per-device MQTT credentials need the embedded broker or Mosquitto's dynamic "
            "security plugin: set KOMMUNVAKT_DYNSEC_URL",
        )
    return issuer


def _issue(
    issuer: CredentialIssuer | None, registry: DeviceRegistry, device_id: str
) -> MqttCredentials:
    try:
        creds = _issuer(issuer).issue(device_id, registry.get(device_id).refs)
    except DynsecError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"broker: {exc}") from exc
    registry.set_mqtt_username(device_id, creds.username)
    return creds


@router.get("/devices", response_model=DevicePage)
def list_devices(
    registry: Registry,
    readings: Latest,
    user: RequireUser,
    site_id: str | None = None,
    type: str | None = None,
    state: Literal["active", "maintenance", "retired"] | None = None,
    health: HealthStatus | None = None,
    place_id: str | None = None,
    care_unit_id: str | None = None,
    q: Annotated[str | None, Query(max_length=100, description="id, name, place or ref")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DevicePage:
    now = datetime.now(UTC)
    keep = None
    if health is not None:

        def keep(d: DevicePublic) -> bool:
            return with_health(readings, d, now).health.status == health  # type: ignore[union-attr]

    items, total = registry.list(
        site_id=site_id,
        type=type,
        state=state,
        place_id=place_id,
        care_unit_id=care_unit_id,
        q=q,
        site_in=visible_sites(user),
        keep=keep,
        offset=offset,
        limit=limit,
    )
    items = [with_health(readings, d, now) for d in items]
    return DevicePage(items=items, total=total, offset=offset, limit=limit)


@router.post("/devices", response_model=DevicePublic, status_code=status.HTTP_201_CREATED)
def create_device(
    request: Request,
    response: Response,
    body: DeviceCreate,
    registry: Registry,
    audit: Audit,
    issuer: Issuer,
    user: RequireUser,
) -> DevicePublic:
    response.headers["Cache-Control"] = "no-store"  # it may carry a password, once
    _may_put(registry, user, body.site_id, body.place_id, body.care_unit_id)
    if body.installed_by is None:
        body = body.model_copy(update={"installed_by": user.name})
    if body.issue_mqtt_credentials:
        _issuer(issuer)  # refuse before creating anything when the broker cannot do it
    device = registry.create(body, now=datetime.now(UTC))
    _audit(audit, request, user, "device.create", device.id, type=device.type)
    if body.issue_mqtt_credentials:
        creds = _issue(issuer, registry, device.id)
        device = registry.get(device.id).model_copy(update={"mqtt_credentials": creds})
    return device


@router.get("/devices/export", response_class=Response)
def export_devices(registry: Registry, user: RequireUser) -> Response:
    body = export_csv(registry, site_in=visible_sites(user))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="enheter.csv"'},
    )


@router.post("/devices/import", response_model=ImportReport)
def import_devices(
    request: Request,
    registry: Registry,
    audit: Audit,
    user: RequireUser,
    csv_body: Annotated[bytes, Body(media_type="text/csv")] = b"",
    dry_run: bool = True,
) -> ImportReport:
    """Check (``dry_run=true``, the default) or import a CSV: every bad row with its line
    number and reason; a real import writes all rows or none."""
    report = import_csv(
        registry,
        csv_body,
        installed_by=user.name,
        now=datetime.now(UTC),
        dry_run=dry_run,
        user=user,
    )
    if not dry_run and report.imported:
        _audit(audit, request, user, "device.import", None, rows=report.imported)
    if report.errors and not dry_run:
        raise HTTPException(422, report.model_dump(mode="json"))
    return report


@router.get("/devices/{device_id}", response_model=DevicePublic)
def get_device(
    device_id: str, registry: Registry, readings: Latest, user: RequireUser
) -> DevicePublic:
    return with_health(readings, _visible(user, registry.get(device_id)), datetime.now(UTC))


@router.get("/devices/{device_id}/health")
def get_health(
    device_id: str, registry: Registry, readings: Latest, user: RequireUser
) -> dict[str, Any]:
    device = with_health(readings, _visible(user, registry.get(device_id)), datetime.now(UTC))
    assert device.health is not None
    return device.health.model_dump(mode="json")


@router.patch("/devices/{device_id}", response_model=DevicePublic)
def update_device(
    request: Request,
    device_id: str,
    body: DeviceUpdate,
    registry: Registry,
    audit: Audit,
    issuer: Issuer,
    user: RequireUser,
) -> DevicePublic:
    current = _visible(user, registry.get(device_id))
    # what stays as it is needs no second look (a form may send every field back)
    unit = body.care_unit_id if body.care_unit_id != current.care_unit_id else None
    _may_put(registry, user, body.site_id, body.place_id, unit)
    _keeps_care(user, current, body)
    device = registry.update(device_id, body, now=datetime.now(UTC))
    if body.state == "retired":
        _after_retire(issuer, device)
    _audit(audit, request, user, "device.update", device_id, fields=sorted(body.model_fields_set))
    return device


@router.post("/devices/{device_id}/retire", response_model=DevicePublic)
def retire_device(
    request: Request,
    device_id: str,
    registry: Registry,
    audit: Audit,
    issuer: Issuer,
    user: RequireUser,
) -> DevicePublic:
    """Decommission: no alerts, refused at the gateway, history kept for its retention."""
    _visible(user, registry.get(device_id))
    device = registry.retire(device_id, now=datetime.now(UTC))
    _after_retire(issuer, device)
    _audit(audit, request, user, "device.retire", device_id)
    return device


def _after_retire(issuer: CredentialIssuer | None, device: DevicePublic) -> None:
    if device.mqtt_username and issuer is not None:
        try:
            issuer.disable(device.mqtt_username)
        except DynsecError as exc:
            # retiring must not fail on the broker; the gateway refuses its messages anyway
            log.warning("could not disable MQTT client of %s: %s", device.id, exc)


@router.post(
    "/devices/{device_id}/mqtt-credentials",
    response_model=MqttCredentials,
    status_code=status.HTTP_201_CREATED,
)
def issue_credentials(
    request: Request,
    response: Response,
    device_id: str,
    registry: Registry,
    audit: Audit,
    issuer: Issuer,
    user: RequireUser,
) -> MqttCredentials:
    """A new MQTT username/password for the device (shown once; replaces any earlier one)."""
    response.headers["Cache-Control"] = "no-store"
    device = _visible(user, registry.get(device_id))
    if device.state == "retired":
        raise HTTPException(status.HTTP_409_CONFLICT, f"device {device_id!r} is retired")
    creds = _issue(issuer, registry, device_id)
    _audit(audit, request, user, "device.mqtt_credentials", device_id, username=creds.username)
    return creds


@router.get("/devices/{device_id}/latest", response_model=list[LatestPublic])
def latest(
    device_id: str,
    request: Request,
    registry: Registry,
    audit: Audit,
    readings: Latest,
    user: RequireUser,
) -> list[LatestPublic]:
    device = _visible(user, registry.get(device_id))  # 404 for an unknown device
    values = readings.latest(device_id)
    if is_care_device(device.type, device.care_unit_id):  # what it says is about a person
        if user.is_admin:
            _audit(audit, request, user, "care.device.read", device_id)
        else:  # its health (battery, signal, online) is what a technician needs
            values = health_only(values)
    return [LatestPublic(metric=v.metric, value=v.value, unit=v.unit, time=v.time) for v in values]


@router.get("/unknown-devices")
def unknown_devices(
    quarantine: Quarantine, registry: Registry, user: RequireUser
) -> list[dict[str, Any]]:
    """Devices the gateway heard but nobody registered (``devices.quarantine.shown_to``:
    their payload and topic only to admin and every-site users)."""
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
        for u in shown_to(user, quarantine.list_unknown())
        # a message in flight while its device was claimed may land here after the claim
        if registry.lookup(u.ref) is None
    ]


@router.post(
    "/unknown-devices/{ref:path}/claim",
    response_model=ClaimPublic,
    status_code=status.HTTP_201_CREATED,
)
def claim(
    request: Request,
    response: Response,
    ref: str,
    body: ClaimRequest,
    registry: Registry,
    audit: Audit,
    issuer: Issuer,
    intake: Intake,
    quarantine: Quarantine,
    user: RequireUser,
) -> ClaimPublic:
    """Register a device the gateway heard under that ref; its last 24 h are ingested."""
    response.headers["Cache-Control"] = "no-store"
    _may_put(registry, user, body.site_id, body.place_id, body.care_unit_id)
    if body.issue_mqtt_credentials:
        _issuer(issuer)
    result = claim_unknown(
        ref,
        body,
        registry=registry,
        quarantine=quarantine,
        accept=intake,
        installed_by=user.name,
        now=datetime.now(UTC),
    )
    _audit(
        audit, request, user, "device.claim", result.device.id, ref=ref, readings=result.ingested
    )
    device = result.device
    if body.issue_mqtt_credentials:
        creds = _issue(issuer, registry, device.id)
        device = registry.get(device.id).model_copy(update={"mqtt_credentials": creds})
    return ClaimPublic(device=device, ingested_readings=result.ingested)
