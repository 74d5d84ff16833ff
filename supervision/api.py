"""REST routes of e-supervision under ``/api/v1/supervision`` (care data, kept apart).

Every read of a resident or a board and every act is written to the audit log, refusals
included (``supervision.access.Gate``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from access.auth import AccessDenied, Principal, RequireUser
from supervision.access import visible_units
from supervision.errors import ConsentMissing, Invalid, NotFound, StateError
from supervision.service import SupervisionService, check_json

__all__ = ["install_handlers", "router"]

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])


def _service(request: Request) -> SupervisionService:
    service: SupervisionService = request.app.state.supervision
    return service


Service = Annotated[SupervisionService, Depends(_service)]


def now_of(request: Request) -> datetime:
    platform = getattr(request.app.state, "platform", None)
    clock = getattr(platform, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def install_handlers(app: FastAPI) -> None:
    """HTTP codes of the package's errors (called by ``gateway.app``)."""

    def handler(code: int) -> Any:
        async def handle(_request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=code)

        return handle

    for exc_type, code in (
        (NotFound, 404),
        (Invalid, 422),
        (ConsentMissing, 409),
        (StateError, 409),
    ):
        app.add_exception_handler(exc_type, handler(code))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResidentCreate(_Body):
    label: str = Field(min_length=1, max_length=80, examples=["Lgh 12B, A.K."])
    care_unit_id: str = Field(min_length=1, max_length=64)
    cohabitants: int = Field(0, ge=0, le=10)
    lacks_capacity: bool = False


class ConsentCreate(_Body):
    party: Literal["resident", "cohabitant"]
    party_label: str | None = Field(None, max_length=80, examples=["sambo"])
    scope: list[Literal["camera", "sensor"]] = Field(min_length=1)
    given_on: date


class ScheduleCreate(_Body):
    method: Literal["camera", "sensor"]
    times: list[str] = Field(min_length=1, max_length=12, examples=[["22:30", "01:00", "04:00"]])
    valid_from: date
    valid_to: date | None = None
    grace_minutes: float | None = None
    recheck_minutes: float | None = None
    ladder: list[str] | None = None
    step_minutes: float | None = None


class SensorBind(_Body):
    device_id: str = Field(min_length=1, max_length=64)


class AbsenceCreate(_Body):
    reason: Literal["hospital", "travel", "other"]
    starts_at: datetime
    ends_at: datetime | None = None


class SkipNight(_Body):
    night: date


class OutcomeBody(_Body):
    outcome: Literal["ok", "not_seen", "abnormal", "technical_failure", "visit", "skipped"]
    note: str | None = Field(None, max_length=200)


def _resident_for(
    request: Request,
    svc: SupervisionService,
    user: Principal,
    resident_id: str,
    *,
    action: str,
    role_action: str,
) -> Any:
    now = now_of(request)
    resident = svc.residents.find(resident_id)
    if resident is None:
        # a refused look at an unknown id is on record too
        svc.gate.require(
            request,
            user,
            action=action,
            role_action=role_action,
            unit=None,
            target_type="resident",
            target_id=resident_id,
            now=now,
        )
        raise NotFound(f"resident {resident_id!r} does not exist")
    svc.gate.require(
        request,
        user,
        action=action,
        role_action=role_action,
        unit=resident.care_unit_id,
        target_type="resident",
        target_id=resident_id,
        now=now,
    )
    return resident


def _done(
    request: Request,
    svc: SupervisionService,
    user: Principal,
    action: str,
    resident_id: str,
    **details: object,
) -> None:
    svc.gate.record(
        request, user, action, "resident", resident_id, now_of(request), details=details or None
    )


@router.get("/care-units")
def care_units(request: Request, svc: Service, user: RequireUser) -> list[dict[str, Any]]:
    """The care units the caller may see, with tonight's counts per status."""
    units = visible_units(user)
    counts = svc.counts_per_care_unit(now_of(request))
    names = svc.residents.care_units()
    return [
        {"id": u, "counts": counts.get(u, {})}
        for u in sorted(set(names) | set(counts))
        if units is None or u in units
    ]


@router.get("/counts")
def counts(request: Request, svc: Service, _user: RequireUser) -> dict[str, dict[str, int]]:
    """Tonight's checks per care unit and status: counts only (for Grafana)."""
    return svc.counts_per_care_unit(now_of(request))


@router.get("/units/{unit_id}/board")
def board(unit_id: str, request: Request, svc: Service, user: RequireUser) -> dict[str, Any]:
    now = now_of(request)
    svc.gate.require(
        request,
        user,
        action="supervision.board.view",
        role_action="care.read",
        unit=unit_id,
        target_type="care_unit",
        target_id=unit_id,
        now=now,
    )
    rows = svc.board(unit_id, now)
    svc.gate.view(request, user, unit_id, [r.resident_id for r in rows], now)
    return {
        "care_unit_id": unit_id,
        "night": svc.tonight(now).isoformat(),
        "rows": [
            {
                "resident_id": r.resident_id,
                "label": r.label,
                "group": r.group,
                "checks": [c.__dict__ if hasattr(c, "__dict__") else _slots(c) for c in r.checks],
            }
            for r in rows
        ],
    }


def _slots(obj: object) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}  # type: ignore[attr-defined]


@router.post("/residents", status_code=status.HTTP_201_CREATED)
def create_resident(
    body: ResidentCreate, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    now = now_of(request)
    svc.gate.require(
        request,
        user,
        action="supervision.resident.create",
        role_action="care.admin",
        unit=body.care_unit_id,
        target_type="care_unit",
        target_id=body.care_unit_id,
        now=now,
    )
    r = svc.residents.create(
        body.label,
        body.care_unit_id,
        actor=user.name,
        now=now,
        cohabitants=body.cohabitants,
        lacks_capacity=body.lacks_capacity,
    )
    _done(request, svc, user, "supervision.resident.create", r.id, care_unit=r.care_unit_id)
    return {
        "id": r.id,
        "label": r.label,
        "care_unit_id": r.care_unit_id,
        "cohabitants": r.cohabitants,
        "lacks_capacity": r.lacks_capacity,
    }


@router.get("/residents")
def list_residents(
    svc: Service, user: RequireUser, care_unit_id: str | None = None
) -> list[dict[str, Any]]:
    units = visible_units(user)
    if care_unit_id is not None and not user.may_see_care_unit(care_unit_id):
        raise AccessDenied("care unit not assigned")
    return [
        {"id": r.id, "label": r.label, "care_unit_id": r.care_unit_id}
        for r in svc.residents_with_units(units)
        if care_unit_id is None or r.care_unit_id == care_unit_id
    ]


@router.get("/residents/{resident_id}")
def get_resident(
    resident_id: str, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    r = _resident_for(
        request, svc, user, resident_id, action="supervision.resident.view", role_action="care.read"
    )
    _done(request, svc, user, "supervision.resident.view", r.id)
    return {
        "id": r.id,
        "label": r.label,
        "care_unit_id": r.care_unit_id,
        "cohabitants": r.cohabitants,
        "lacks_capacity": r.lacks_capacity,
        "consents": svc.residents.consents(r.id),
        "consent_open": {
            m: svc.residents.consent_gate(r.id, m) is not None for m in ("camera", "sensor")
        },
        "schedules": svc.export_resident(r.id)["schedules"],
        "sensors": svc.residents.sensors_of(r.id),
    }


@router.get("/residents/{resident_id}/history")
def resident_history(
    resident_id: str, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request, svc, user, resident_id, action="supervision.history.view", role_action="care.read"
    )
    _done(request, svc, user, "supervision.history.view", resident_id)
    return svc.history(resident_id)


@router.post("/residents/{resident_id}/consents", status_code=status.HTTP_201_CREATED)
def record_consent(
    resident_id: str, body: ConsentCreate, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.consent.record",
        role_action="care.admin",
    )
    cid = svc.residents.record_consent(
        resident_id,
        party=body.party,
        scope=list(body.scope),
        given_on=body.given_on,
        actor=user.name,
        now=now_of(request),
        party_label=body.party_label,
    )
    svc.refresh()
    _done(
        request,
        svc,
        user,
        "supervision.consent.record",
        resident_id,
        consent_id=cid,
        party=body.party,
        scope=sorted(body.scope),
    )
    return {"id": cid}


@router.post("/residents/{resident_id}/consents/{consent_id}/withdraw")
def withdraw_consent(
    resident_id: str, consent_id: int, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    # night staff may record a withdrawal: it must take effect at once, whoever hears it
    _resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.consent.withdraw",
        role_action="care.write",
    )
    now = now_of(request)
    svc.residents.withdraw_consent(resident_id, consent_id, actor=user.name, now=now)
    cancelled = svc.cancel_closed_gates(resident_id, user.name, now, "samtycke återkallat")
    _done(
        request,
        svc,
        user,
        "supervision.consent.withdraw",
        resident_id,
        consent_id=consent_id,
        cancelled_checks=cancelled,
    )
    return {"cancelled_checks": cancelled}


@router.post("/residents/{resident_id}/schedules", status_code=status.HTTP_201_CREATED)
def add_schedule(
    resident_id: str, body: ScheduleCreate, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.schedule.create",
        role_action="care.admin",
    )
    now = now_of(request)
    sched = svc.residents.add_schedule(
        resident_id,
        method=body.method,
        times=body.times,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        actor=user.name,
        now=now,
        grace_minutes=body.grace_minutes,
        recheck_minutes=body.recheck_minutes,
        ladder=body.ladder,
        step_minutes=body.step_minutes,
    )
    svc.refresh()
    created = svc.materialise(svc.tonight(now), now)
    _done(request, svc, user, "supervision.schedule.create", resident_id, schedule_id=sched.id)
    return {
        "id": sched.id,
        "times": [t.strftime("%H:%M") for t in sched.plan.times],
        "checks_tonight": created,
    }


@router.post("/residents/{resident_id}/schedules/{schedule_id}/end")
def end_schedule(
    resident_id: str, schedule_id: int, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request, svc, user, resident_id, action="supervision.schedule.end", role_action="care.admin"
    )
    now = now_of(request)
    svc.residents.end_schedule(resident_id, schedule_id, now=now)
    cancelled = svc.cancel_closed_gates(resident_id, user.name, now, "schemat avslutat")
    _done(request, svc, user, "supervision.schedule.end", resident_id, schedule_id=schedule_id)
    return {"cancelled_checks": cancelled}


@router.post("/residents/{resident_id}/sensors", status_code=status.HTTP_201_CREATED)
def bind_sensor(
    resident_id: str, body: SensorBind, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request, svc, user, resident_id, action="supervision.sensor.bind", role_action="care.admin"
    )
    info = svc.registry.info(body.device_id)
    if info is None:
        raise NotFound(f"device {body.device_id!r} is not registered")
    if info.type != "bed_sensor":
        raise Invalid(f"device {body.device_id!r} is a {info.type}, not a bed_sensor")
    svc.residents.bind_sensor(resident_id, body.device_id, actor=user.name, now=now_of(request))
    svc.refresh()
    _done(request, svc, user, "supervision.sensor.bind", resident_id, device_id=body.device_id)
    return {"device_id": body.device_id, "resident_id": resident_id}


@router.delete("/residents/{resident_id}/sensors/{device_id}", status_code=204)
def unbind_sensor(
    resident_id: str, device_id: str, request: Request, svc: Service, user: RequireUser
) -> Response:
    _resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.sensor.unbind",
        role_action="care.admin",
    )
    svc.residents.unbind_sensor(resident_id, device_id)
    svc.refresh()
    _done(request, svc, user, "supervision.sensor.unbind", resident_id, device_id=device_id)
    return Response(status_code=204)


@router.post("/residents/{resident_id}/absences", status_code=status.HTTP_201_CREATED)
def add_absence(
    resident_id: str, body: AbsenceCreate, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.absence.record",
        role_action="care.write",
    )
    if body.starts_at.tzinfo is None or (body.ends_at and body.ends_at.tzinfo is None):
        raise Invalid("give times with an offset (e.g. 2026-11-22T18:00:00+01:00)")
    now = now_of(request)
    aid = svc.residents.suspend(
        resident_id,
        reason=body.reason,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        actor=user.name,
        now=now,
    )
    svc.suspension_changed(resident_id, user.name, now)
    _done(
        request,
        svc,
        user,
        "supervision.absence.record",
        resident_id,
        absence_id=aid,
        reason=body.reason,
    )
    return {"id": aid}


@router.post("/residents/{resident_id}/absences/{absence_id}/end")
def end_absence(
    resident_id: str, absence_id: int, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request, svc, user, resident_id, action="supervision.absence.end", role_action="care.write"
    )
    now = now_of(request)
    svc.residents.end_suspension(resident_id, absence_id, now=now)
    svc.suspension_changed(resident_id, user.name, now)
    _done(request, svc, user, "supervision.absence.end", resident_id, absence_id=absence_id)
    return {"id": absence_id}


@router.post("/residents/{resident_id}/skip-night")
def skip_night(
    resident_id: str, body: SkipNight, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request, svc, user, resident_id, action="supervision.night.skip", role_action="care.write"
    )
    n = svc.skip_night(resident_id, body.night, user.name, now_of(request))
    _done(request, svc, user, "supervision.night.skip", resident_id, night=body.night.isoformat())
    return {"skipped_checks": n}


@router.post("/checks/{check_id}/outcome")
def record_outcome(
    check_id: int, body: OutcomeBody, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    check = svc.checks.get(check_id)
    _resident_for(
        request,
        svc,
        user,
        check.resident_id,
        action="supervision.check.outcome",
        role_action="care.write",
    )
    saved = svc.record_outcome(
        check_id, body.outcome, actor=user.name, now=now_of(request), note=body.note
    )
    _done(
        request,
        svc,
        user,
        "supervision.check.outcome",
        check.resident_id,
        check_id=check_id,
        outcome=body.outcome,
        status=saved.status,
    )
    return check_json(saved, svc.zone)


@router.get("/residents/{resident_id}/export")
def export_resident(
    resident_id: str, request: Request, svc: Service, user: RequireUser
) -> dict[str, Any]:
    _resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.resident.export",
        role_action="care.admin",
    )
    _done(request, svc, user, "supervision.resident.export", resident_id)
    return svc.export_resident(resident_id)


@router.delete("/residents/{resident_id}", status_code=204)
def erase_resident(resident_id: str, request: Request, svc: Service, user: RequireUser) -> Response:
    _resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.resident.erase",
        role_action="care.admin",
    )
    svc.erase_resident(resident_id, user.name, now_of(request))
    _done(request, svc, user, "supervision.resident.erase", resident_id)
    return Response(status_code=204)


@router.get("/audit")
def audit_export(
    request: Request,
    svc: Service,
    user: RequireUser,
    resident_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """The audit trail of one resident or of one user, for the monthly log review."""
    now = now_of(request)
    target = resident_id or actor
    svc.gate.require(
        request,
        user,
        action="supervision.audit.export",
        role_action="audit.read",
        unit=None,
        target_type="resident" if resident_id else "user",
        target_id=target,
        now=now,
    )
    if (resident_id is None) == (actor is None):
        raise Invalid("give exactly one of resident_id or actor")
    entries = svc.audit_entries(resident_id=resident_id, actor=actor, since=since, until=until)
    svc.gate.record(
        request,
        user,
        "supervision.audit.export",
        "resident" if resident_id else "user",
        target,
        now,
        details={"entries": len(entries), "format": format},
    )
    log_type = type(svc.audit)
    if format == "csv":
        return Response(log_type.to_csv(entries), media_type="text/csv; charset=utf-8")  # type: ignore[attr-defined]
    return Response(log_type.to_json(entries), media_type="application/json")  # type: ignore[attr-defined]
