"""API models of the registry: ``DeviceCreate`` / ``DeviceUpdate`` / ``DevicePublic``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["DeviceCreate", "DevicePublic", "DeviceRef", "DeviceState", "DeviceUpdate", "SiteCreate"]

DeviceState = Literal["active", "maintenance", "retired"]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
Source = Literal["native", "chirpstack", "ttn", "zigbee2mqtt", "tasmota", "senml", "other"]


class DeviceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Source
    ref: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Slug
    type: str
    name: str = ""
    site_id: str | None = None
    place: str | None = None
    refs: list[DeviceRef] = Field(default_factory=list)
    expected_interval_s: Annotated[int, Field(gt=0)] | None = None
    installed_by: str | None = None
    notes: str | None = None


class DeviceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    site_id: str | None = None
    place: str | None = None
    state: DeviceState | None = None
    expected_interval_s: Annotated[int, Field(gt=0)] | None = None
    notes: str | None = None


class DevicePublic(BaseModel):
    id: str
    type: str
    name: str
    site_id: str | None
    place: str | None
    state: str
    refs: list[DeviceRef]
    expected_interval_s: int
    installed_at: datetime | None
    installed_by: str | None
    notes: str | None


class SiteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Slug
    name: str
    address: str | None = None
