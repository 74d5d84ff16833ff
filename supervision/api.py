"""REST routes of e-supervision under ``/api/v1/supervision`` (care data, kept apart).

Every read of a resident or a board and every act is written to the audit log, refusals
included (``supervision.access.Gate``). This module has the reads, outcomes and the audit
export; ``supervision.api_plan`` the changes to a plan of care (included below).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from access.audit import AuditLog
from access.auth import AccessDenied, RequireUser
from access.deps import Now
from access.scope import visible_care_units
from core.bounds import DbId, Moment
from supervision.api_common import (
    OutcomeBody,
    Service,
    done,
    install_handlers,
    now_of,
    resident_for,
)
from supervision.api_plan import router as plan_router
from supervision.errors import Invalid
from supervision.views import (
    BoardCheckPublic,
    BoardPublic,
    BoardRowPublic,
    CareUnitCounts,
    CheckPublic,
    HistoryPublic,
    ResidentDetail,
    ResidentListed,
)

__all__ = ["install_handlers", "now_of", "router"]

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])


@router.get("/care-units")
def care_units(request: Request, svc: Service, user: RequireUser, now: Now) -> list[CareUnitCounts]:
    """The care units the caller may see, with tonight's counts per status."""
    units = visible_care_units(user)
    counts = svc.counts_per_care_unit(now)
    names = svc.residents.care_units()
    return [
        CareUnitCounts(id=u, counts=counts.get(u, {}))
        for u in sorted(set(names) | set(counts))
        if units is None or u in units
    ]


@router.get("/counts")
def counts(
    request: Request, svc: Service, user: RequireUser, now: Now
) -> dict[str, dict[str, int]]:
    """Tonight's checks per care unit and status: counts only (for Grafana), of the care
    units the caller may see."""
    units = visible_care_units(user)
    found = svc.counts_per_care_unit(now)
    return {u: c for u, c in found.items() if units is None or u in units}


@router.get("/units/{unit_id}/board")
def board(unit_id: str, request: Request, svc: Service, user: RequireUser, now: Now) -> BoardPublic:
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
    svc.gate.view(request, user, unit_id, [r.resident_id for r in rows], now, force=True)
    return BoardPublic(
        care_unit_id=unit_id,
        night=svc.tonight(now).isoformat(),
        rows=[
            BoardRowPublic(
                resident_id=r.resident_id,
                label=r.label,
                group=r.group,
                checks=[BoardCheckPublic.model_validate(c, from_attributes=True) for c in r.checks],
            )
            for r in rows
        ],
    )


@router.get("/residents")
def list_residents(
    svc: Service, user: RequireUser, care_unit_id: str | None = None
) -> list[ResidentListed]:
    units = visible_care_units(user)
    if care_unit_id is not None and not user.may_see_care_unit(care_unit_id):
        raise AccessDenied("care unit not assigned")
    return [
        ResidentListed(id=r.id, label=r.label, care_unit_id=r.care_unit_id)
        for r in svc.records.residents_with_units(units)
        if care_unit_id is None or r.care_unit_id == care_unit_id
    ]


@router.get("/residents/{resident_id}")
def get_resident(
    resident_id: str, request: Request, svc: Service, user: RequireUser
) -> ResidentDetail:
    r = resident_for(
        request, svc, user, resident_id, action="supervision.resident.view", role_action="care.read"
    )
    done(request, svc, user, "supervision.resident.view", r.id)
    return svc.records.detail(r)


@router.get("/residents/{resident_id}/history")
def resident_history(
    resident_id: str, request: Request, svc: Service, user: RequireUser
) -> HistoryPublic:
    resident_for(
        request, svc, user, resident_id, action="supervision.history.view", role_action="care.read"
    )
    done(request, svc, user, "supervision.history.view", resident_id)
    return svc.records.history(resident_id)


@router.post("/checks/{check_id}/outcome")
def record_outcome(
    check_id: DbId, body: OutcomeBody, request: Request, svc: Service, user: RequireUser, now: Now
) -> CheckPublic:
    check = svc.checks.get(check_id)
    resident_for(
        request,
        svc,
        user,
        check.resident_id,
        action="supervision.check.outcome",
        role_action="care.write",
    )
    saved = svc.night.record_outcome(
        check_id, body.outcome, actor=user.name, now=now, note=body.note,
        timing_reason=body.timing_reason,
    )  # fmt: skip
    done(
        request,
        svc,
        user,
        "supervision.check.outcome",
        check.resident_id,
        check_id=check_id,
        outcome=body.outcome,
        status=saved.status,
        timing=saved.timing,
    )
    return CheckPublic.of(saved, svc.zone)


@router.get("/audit")
def audit_export(
    request: Request,
    svc: Service,
    user: RequireUser,
    now: Now,
    resident_id: str | None = None,
    actor: str | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """The audit trail of one resident or of one user, for the monthly log review."""
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
    entries = svc.records.audit_entries(
        resident_id=resident_id, actor=actor, since=since, until=until
    )
    svc.gate.record(
        request,
        user,
        "supervision.audit.export",
        "resident" if resident_id else "user",
        target,
        now,
        details={"entries": len(entries), "format": format},
    )
    if format == "csv":
        return Response(AuditLog.to_csv(entries), media_type="text/csv; charset=utf-8")
    return Response(AuditLog.to_json(entries), media_type="application/json")


router.include_router(plan_router)
