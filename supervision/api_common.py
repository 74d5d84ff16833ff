"""Shared parts of the e-supervision API: the service dependency, the clock, request bodies,
the error → HTTP code mapping, and the access/audit helpers of the routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from access.auth import Principal
from access.deps import NotWired
from core.identity_numbers import FreeText
from supervision.errors import ConsentMissing, Invalid, NotFound, StateError
from supervision.residents import Resident
from supervision.service import SupervisionService

__all__ = [
    "AbsenceCreate",
    "ConsentCreate",
    "OutcomeBody",
    "ResidentCreate",
    "ScheduleCreate",
    "SensorBind",
    "Service",
    "SkipNight",
    "done",
    "install_handlers",
    "now_of",
    "resident_for",
    "supervision_service",
]


def supervision_service() -> SupervisionService:
    """Provided by the composition root (``gateway.deps.wire``)."""
    raise NotWired("supervision.api_common.supervision_service")


Service = Annotated[SupervisionService, Depends(supervision_service)]


def now_of(request: Request) -> datetime:
    """The platform's clock (tests pass a fixed one), for the pages; routes take
    ``access.deps.Now``."""
    clock: Callable[[], datetime] = request.app.state.platform.clock
    return clock()


def install_handlers(app: FastAPI) -> None:
    """HTTP codes of the package's errors (called by ``gateway.app``)."""

    def handler(code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
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
    party_label: FreeText | None = Field(None, max_length=80, examples=["sambo"])
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
    note: FreeText | None = Field(None, max_length=200)
    #: why a check is closed (ok, visit) outside its window; refused without it (409)
    timing_reason: FreeText | None = Field(None, max_length=200)


def resident_for(
    request: Request,
    svc: SupervisionService,
    user: Principal,
    resident_id: str,
    *,
    action: str,
    role_action: str,
) -> Resident:
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


def done(
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
