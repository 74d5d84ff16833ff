"""API models of the registry: ``DeviceCreate`` / ``DeviceUpdate`` / ``DevicePublic`` and the
site, place and care-unit families. Every rejected field gets a reason a technician can act on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core.identity_numbers import FreeText
from devices.sites import SiteSchedule

__all__ = [
    "CareUnitCreate",
    "CareUnitPublic",
    "CareUnitUpdate",
    "ClaimRequest",
    "DeviceCreate",
    "DeviceHealth",
    "DevicePublic",
    "DeviceRef",
    "DeviceState",
    "DeviceUpdate",
    "HealthStatus",
    "MqttCredentials",
    "PlaceCreate",
    "PlacePublic",
    "PlaceUpdate",
    "SiteCreate",
    "SitePublic",
    "SiteUpdate",
]

DeviceState = Literal["active", "maintenance", "retired"]
HealthStatus = Literal["online", "offline", "never_seen"]
# ids are shown and exported everywhere: no personal identity number in them either
Slug = Annotated[
    FreeText,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
]
Source = Literal["native", "chirpstack", "ttn", "zigbee2mqtt", "tasmota", "senml", "other"]
Text200 = Annotated[FreeText, StringConstraints(max_length=200)]
Note = Annotated[FreeText, StringConstraints(max_length=2000)]
OpeningHours = dict[str, dict[str, str] | None]


class DeviceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Source
    ref: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MqttCredentials(BaseModel):
    """Shown once, in the response that issued them; only the username is kept."""

    username: str
    password: str
    publish_topics: list[str]


class DeviceHealth(BaseModel):
    status: HealthStatus
    last_seen: datetime | None = None
    silent_for_s: float | None = None
    battery: float | None = None
    rssi: float | None = None


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Slug
    type: str
    name: Text200 = ""
    site_id: str | None = None
    place: Text200 | None = None
    place_id: str | None = None
    care_unit_id: str | None = None
    refs: list[DeviceRef] = Field(default_factory=list)
    expected_interval_s: Annotated[int, Field(gt=0)] | None = None
    installed_by: Annotated[FreeText, StringConstraints(max_length=100)] | None = None
    notes: Note | None = None
    issue_mqtt_credentials: bool = False


class DeviceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text200 | None = None
    type: str | None = None
    site_id: str | None = None
    place: Text200 | None = None
    place_id: str | None = None
    care_unit_id: str | None = None
    refs: list[DeviceRef] | None = None
    state: DeviceState | None = None
    expected_interval_s: Annotated[int, Field(gt=0)] | None = None
    installed_by: Annotated[FreeText, StringConstraints(max_length=100)] | None = None
    notes: Note | None = None


class DevicePublic(BaseModel):
    id: str
    type: str
    name: str
    site_id: str | None
    place: str | None
    place_id: str | None = None
    care_unit_id: str | None = None
    state: str
    refs: list[DeviceRef]
    expected_interval_s: int
    installed_at: datetime | None
    installed_by: str | None
    notes: str | None
    retired_at: datetime | None = None
    mqtt_username: str | None = None
    health: DeviceHealth | None = None
    mqtt_credentials: MqttCredentials | None = None


def _check_hours(value: OpeningHours | None) -> OpeningHours | None:
    if value is not None:
        SiteSchedule.from_json(value, None)  # ValueError with the reason → 422
    return value


def _check_holidays(value: list[date] | None) -> list[date] | None:
    return sorted(set(value)) if value is not None else None


def _check_zone(value: str | None) -> str | None:
    if value is not None:
        SiteSchedule.from_json(None, None, value)
    return value


class _SiteFields(BaseModel):
    @field_validator("opening_hours", check_fields=False)
    @classmethod
    def _hours(cls, value: Any) -> Any:
        try:
            return _check_hours(value)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"opening_hours: {exc}") from exc

    @field_validator("holidays", check_fields=False)
    @classmethod
    def _holidays(cls, value: Any) -> Any:
        return _check_holidays(value)

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _zone(cls, value: Any) -> Any:
        try:
            return _check_zone(value)
        except Exception as exc:  # zoneinfo raises several kinds for a bad key
            raise ValueError(f"unknown time zone {value!r}") from exc


class SiteCreate(_SiteFields):
    model_config = ConfigDict(extra="forbid")
    id: Slug
    name: Text200
    municipality: Text200 | None = None
    address: Annotated[FreeText, StringConstraints(max_length=300)] | None = None
    timezone: str = "Europe/Stockholm"
    #: {"mon": {"open": "07:00", "close": "16:00"}, ...}; a missing day is closed
    opening_hours: OpeningHours | None = None
    holidays: list[date] | None = None


class SiteUpdate(_SiteFields):
    model_config = ConfigDict(extra="forbid")
    name: Text200 | None = None
    municipality: Text200 | None = None
    address: Annotated[FreeText, StringConstraints(max_length=300)] | None = None
    timezone: str | None = None
    opening_hours: OpeningHours | None = None
    holidays: list[date] | None = None


class SitePublic(BaseModel):
    id: str
    name: str
    municipality: str | None = None
    address: str | None = None
    timezone: str = "Europe/Stockholm"
    opening_hours: dict[str, dict[str, str]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)


class PlaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Slug
    site_id: str
    name: Text200
    notes: Note | None = None


class PlaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text200 | None = None
    notes: Note | None = None


class PlacePublic(BaseModel):
    id: str
    site_id: str
    name: str
    notes: str | None = None


class CareUnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Slug
    name: Text200
    site_id: str | None = None


class CareUnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text200 | None = None
    site_id: str | None = None


class CareUnitPublic(BaseModel):
    id: str
    name: str
    site_id: str | None = None


class ClaimRequest(BaseModel):
    """Claim a device the gateway heard: choose its type and where it hangs."""

    model_config = ConfigDict(extra="forbid")
    type: str
    id: Slug | None = None  # default: the ref itself when it is a valid id
    name: Text200 = ""
    site_id: str | None = None
    place: Text200 | None = None
    place_id: str | None = None
    care_unit_id: str | None = None
    notes: Note | None = None
    issue_mqtt_credentials: bool = False
