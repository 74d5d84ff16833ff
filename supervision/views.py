"""What the supervision API answers, as pydantic models (so ``/docs`` shows each shape).

Times are ISO 8601 strings made by ``datetime.isoformat`` (an offset such as ``+00:00``,
never ``Z``): the board, the exports and the tests read them as strings, byte for byte.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from supervision.checks import Check

__all__ = [
    "AbsencePublic",
    "BoardCheckPublic",
    "BoardPublic",
    "BoardRowPublic",
    "CancelledChecks",
    "CareUnitCounts",
    "CheckPublic",
    "ConsentPublic",
    "Created",
    "HistoryPublic",
    "ReadingPublic",
    "ResidentDetail",
    "ResidentExport",
    "ResidentListed",
    "ResidentPublic",
    "ScheduleCreated",
    "SchedulePublic",
    "SensorBound",
    "SkippedChecks",
    "TransitionPublic",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResidentListed(_Out):
    id: str
    label: str
    care_unit_id: str


class ResidentPublic(ResidentListed):
    cohabitants: int
    lacks_capacity: bool


class ConsentPublic(_Out):
    id: int
    party: str
    party_label: str | None
    scope: list[str]
    given_on: str
    recorded_by: str
    recorded_at: str
    withdrawn_at: str | None
    withdrawn_by: str | None


class SchedulePublic(_Out):
    id: int
    method: str
    times: list[str] = Field(examples=[["22:30", "01:00"]])
    valid_from: str
    valid_to: str | None


class AbsencePublic(_Out):
    id: int
    reason: str
    starts_at: str
    ends_at: str | None


class CheckPublic(_Out):
    id: int
    resident_id: str
    care_unit_id: str
    method: str
    night: str
    planned: str
    due_at: str
    #: the wall-clock time it is due, with the care unit's offset
    due_local: str
    status: str
    recheck_at: str | None
    rung: int
    updated_at: str
    timing: str | None
    timing_reason: str | None

    @classmethod
    def of(cls, c: Check, zone: ZoneInfo) -> CheckPublic:
        return cls(
            id=c.id,
            resident_id=c.resident_id,
            care_unit_id=c.care_unit_id,
            method=c.method,
            night=c.night.isoformat(),
            planned=c.planned,
            due_at=c.due_at.isoformat(),
            due_local=c.due_at.astimezone(zone).isoformat(),
            status=c.status,
            recheck_at=c.recheck_at.isoformat() if c.recheck_at else None,
            rung=c.rung,
            updated_at=c.updated_at.isoformat(),
            timing=c.timing,
            timing_reason=c.timing_reason,
        )


class TransitionPublic(_Out):
    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    check_id: int
    at: str
    from_: str = Field(alias="from")
    to: str
    actor: str
    source: str
    rung: str | None
    note: str | None
    timing: str | None
    timing_reason: str | None


class HistoryPublic(_Out):
    resident: ResidentPublic
    checks: list[CheckPublic]
    transitions: list[TransitionPublic]


class ReadingPublic(_Out):
    device_id: str
    metric: str
    time: str
    #: in this order, so that an integer stays an integer and a boolean a boolean
    value: bool | int | float | str | None
    unit: str | None


class ResidentExport(HistoryPublic):
    """Everything stored about a resident (a request under GDPR art. 15/20)."""

    consents: list[ConsentPublic]
    schedules: list[SchedulePublic]
    absences: list[AbsencePublic]
    sensors: list[str]
    sensor_readings: list[ReadingPublic]


class ResidentDetail(ResidentPublic):
    consents: list[ConsentPublic]
    #: method → whether the consent gate is open for it now
    consent_open: dict[str, bool]
    schedules: list[SchedulePublic]
    sensors: list[str]


class CareUnitCounts(_Out):
    id: str
    #: status → tonight's checks in it
    counts: dict[str, int]


class BoardCheckPublic(_Out):
    id: int
    planned: str
    local: str
    status: str
    shown: str
    method: str
    rung: str | None
    recheck_local: str | None
    actions: list[str]
    timing: str | None
    timing_reason: str | None


class BoardRowPublic(_Out):
    resident_id: str
    label: str
    group: str
    checks: list[BoardCheckPublic]


class BoardPublic(_Out):
    care_unit_id: str
    night: str
    rows: list[BoardRowPublic]


class Created(_Out):
    id: int


class CancelledChecks(_Out):
    cancelled_checks: int


class SkippedChecks(_Out):
    skipped_checks: int


class ScheduleCreated(_Out):
    id: int
    times: list[str]
    checks_tonight: int


class SensorBound(_Out):
    device_id: str
    resident_id: str
