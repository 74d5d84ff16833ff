"""REST routes that change a resident's plan of care: residents, consent, schedules, bed
sensors, absences, a declined night, export and erasure (``/api/v1/supervision``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from access.auth import RequireUser
from access.deps import Now
from core.bounds import DbId
from supervision.api_common import (
    AbsenceCreate,
    ConsentCreate,
    ResidentCreate,
    ScheduleCreate,
    SensorBind,
    Service,
    SkipNight,
    done,
    resident_for,
)
from supervision.errors import Invalid, NotFound
from supervision.records import resident_public
from supervision.views import (
    CancelledChecks,
    Created,
    ResidentExport,
    ResidentPublic,
    ScheduleCreated,
    SensorBound,
    SkippedChecks,
)

__all__ = ["router"]

router = APIRouter(tags=["supervision"])  # included by supervision.api under its prefix


@router.post("/residents", status_code=status.HTTP_201_CREATED)
def create_resident(
    body: ResidentCreate, request: Request, svc: Service, user: RequireUser, now: Now
) -> ResidentPublic:
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
    done(request, svc, user, "supervision.resident.create", r.id, care_unit=r.care_unit_id)
    return resident_public(r)


@router.post("/residents/{resident_id}/consents", status_code=status.HTTP_201_CREATED)
def record_consent(
    resident_id: str,
    body: ConsentCreate,
    request: Request,
    svc: Service,
    user: RequireUser,
    now: Now,
) -> Created:
    resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.consent.record",
        role_action="care.admin",
    )
    cid = svc.consents.record(
        resident_id,
        party=body.party,
        scope=list(body.scope),
        given_on=body.given_on,
        actor=user.name,
        now=now,
        party_label=body.party_label,
    )
    svc.refresh()
    done(
        request,
        svc,
        user,
        "supervision.consent.record",
        resident_id,
        consent_id=cid,
        party=body.party,
        scope=sorted(body.scope),
    )
    return Created(id=cid)


@router.post("/residents/{resident_id}/consents/{consent_id}/withdraw")
def withdraw_consent(
    resident_id: str, consent_id: DbId, request: Request, svc: Service, user: RequireUser, now: Now
) -> CancelledChecks:
    # night staff may record a withdrawal: it must take effect at once, whoever hears it
    resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.consent.withdraw",
        role_action="care.write",
    )
    svc.consents.withdraw(resident_id, consent_id, actor=user.name, now=now)
    cancelled = svc.night.cancel_closed_gates(resident_id, user.name, now, "samtycke återkallat")
    done(
        request,
        svc,
        user,
        "supervision.consent.withdraw",
        resident_id,
        consent_id=consent_id,
        cancelled_checks=cancelled,
    )
    return CancelledChecks(cancelled_checks=cancelled)


@router.post("/residents/{resident_id}/schedules", status_code=status.HTTP_201_CREATED)
def add_schedule(
    resident_id: str,
    body: ScheduleCreate,
    request: Request,
    svc: Service,
    user: RequireUser,
    now: Now,
) -> ScheduleCreated:
    resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.schedule.create",
        role_action="care.admin",
    )
    sched = svc.schedules.add(
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
    done(request, svc, user, "supervision.schedule.create", resident_id, schedule_id=sched.id)
    return ScheduleCreated(
        id=sched.id, times=[t.strftime("%H:%M") for t in sched.plan.times], checks_tonight=created
    )


@router.post("/residents/{resident_id}/schedules/{schedule_id}/end")
def end_schedule(
    resident_id: str, schedule_id: DbId, request: Request, svc: Service, user: RequireUser, now: Now
) -> CancelledChecks:
    resident_for(
        request, svc, user, resident_id, action="supervision.schedule.end", role_action="care.admin"
    )
    svc.schedules.end(resident_id, schedule_id, now=now)
    cancelled = svc.night.cancel_closed_gates(resident_id, user.name, now, "schemat avslutat")
    done(request, svc, user, "supervision.schedule.end", resident_id, schedule_id=schedule_id)
    return CancelledChecks(cancelled_checks=cancelled)


@router.post("/residents/{resident_id}/sensors", status_code=status.HTTP_201_CREATED)
def bind_sensor(
    resident_id: str, body: SensorBind, request: Request, svc: Service, user: RequireUser, now: Now
) -> SensorBound:
    resident_for(
        request, svc, user, resident_id, action="supervision.sensor.bind", role_action="care.admin"
    )
    info = svc.registry.info(body.device_id)
    if info is None:
        raise NotFound(f"device {body.device_id!r} is not registered")
    if info.type != "bed_sensor":
        raise Invalid(f"device {body.device_id!r} is a {info.type}, not a bed_sensor")
    svc.bindings.bind(resident_id, body.device_id, actor=user.name, now=now)
    svc.refresh()
    done(request, svc, user, "supervision.sensor.bind", resident_id, device_id=body.device_id)
    return SensorBound(device_id=body.device_id, resident_id=resident_id)


@router.delete("/residents/{resident_id}/sensors/{device_id}", status_code=204)
def unbind_sensor(
    resident_id: str, device_id: str, request: Request, svc: Service, user: RequireUser
) -> Response:
    resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.sensor.unbind",
        role_action="care.admin",
    )
    svc.bindings.unbind(resident_id, device_id)
    svc.refresh()
    done(request, svc, user, "supervision.sensor.unbind", resident_id, device_id=device_id)
    return Response(status_code=204)


@router.post("/residents/{resident_id}/absences", status_code=status.HTTP_201_CREATED)
def add_absence(
    resident_id: str,
    body: AbsenceCreate,
    request: Request,
    svc: Service,
    user: RequireUser,
    now: Now,
) -> Created:
    resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.absence.record",
        role_action="care.write",
    )
    if body.starts_at.tzinfo is None or (body.ends_at and body.ends_at.tzinfo is None):
        raise Invalid("give times with an offset (e.g. 2026-11-22T18:00:00+01:00)")
    aid = svc.absences.record(
        resident_id,
        reason=body.reason,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        actor=user.name,
        now=now,
    )
    svc.night.suspension_changed(resident_id, user.name, now)
    done(
        request,
        svc,
        user,
        "supervision.absence.record",
        resident_id,
        absence_id=aid,
        reason=body.reason,
    )
    return Created(id=aid)


@router.post("/residents/{resident_id}/absences/{absence_id}/end")
def end_absence(
    resident_id: str, absence_id: DbId, request: Request, svc: Service, user: RequireUser, now: Now
) -> Created:
    resident_for(
        request, svc, user, resident_id, action="supervision.absence.end", role_action="care.write"
    )
    svc.absences.end(resident_id, absence_id, now=now)
    svc.night.suspension_changed(resident_id, user.name, now)
    done(request, svc, user, "supervision.absence.end", resident_id, absence_id=absence_id)
    return Created(id=absence_id)


@router.post("/residents/{resident_id}/skip-night")
def skip_night(
    resident_id: str, body: SkipNight, request: Request, svc: Service, user: RequireUser, now: Now
) -> SkippedChecks:
    resident_for(
        request, svc, user, resident_id, action="supervision.night.skip", role_action="care.write"
    )
    n = svc.night.skip_night(resident_id, body.night, user.name, now)
    done(request, svc, user, "supervision.night.skip", resident_id, night=body.night.isoformat())
    return SkippedChecks(skipped_checks=n)


@router.get("/residents/{resident_id}/export")
def export_resident(
    resident_id: str, request: Request, svc: Service, user: RequireUser
) -> ResidentExport:
    resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.resident.export",
        role_action="care.admin",
    )
    done(request, svc, user, "supervision.resident.export", resident_id)
    return svc.records.export_resident(resident_id)


@router.delete("/residents/{resident_id}", status_code=204)
def erase_resident(
    resident_id: str, request: Request, svc: Service, user: RequireUser, now: Now
) -> Response:
    resident_for(
        request,
        svc,
        user,
        resident_id,
        action="supervision.resident.erase",
        role_action="care.admin",
    )
    svc.erasure.erase_resident(resident_id, user.name, now)
    done(request, svc, user, "supervision.resident.erase", resident_id)
    return Response(status_code=204)
