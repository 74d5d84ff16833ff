"""Registry tables: sites, devices and the external refs that name a device per source; and the
gateway lease (which instance of a group is the active one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime

__all__ = [
    "CareUnitRow",
    "DeviceRefRow",
    "DeviceRow",
    "GatewayLeaseRow",
    "PlaceRow",
    "SiteRow",
]


class SiteRow(Base):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    # {"mon": {"open": "07:00", "close": "16:00"}, ...}; a missing day is closed (devices.sites)
    opening_hours: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON, default=None)
    holidays: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # "YYYY-MM-DD"


class PlaceRow(Base):
    """A room or spot on a site: "Kök, frys 2", "Teknikbod", "Rum 14"."""

    __tablename__ = "places"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text, default=None)


class CareUnitRow(Base):
    """A care unit of elderly care (hemtjänstgrupp, boende); e-supervision refers to its id."""

    __tablename__ = "care_units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), default=None)


class DeviceRow(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), default=None, index=True)
    place: Mapped[str | None] = mapped_column(String(200), default=None)
    place_id: Mapped[str | None] = mapped_column(ForeignKey("places.id"), default=None)
    care_unit_id: Mapped[str | None] = mapped_column(ForeignKey("care_units.id"), default=None)
    state: Mapped[str] = mapped_column(String(16), default="active")
    expected_interval_s: Mapped[int | None] = mapped_column(default=None)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    installed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    mqtt_username: Mapped[str | None] = mapped_column(String(100), default=None)
    refs: Mapped[list[DeviceRefRow]] = relationship(
        back_populates="device", cascade="all, delete-orphan", lazy="selectin"
    )


class DeviceRefRow(Base):
    """How a source names the device: a DevEUI, a z2m friendly name, a native id, ..."""

    __tablename__ = "device_refs"
    __table_args__ = (UniqueConstraint("ref", name="uq_device_refs_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(200))
    device: Mapped[DeviceRow] = relationship(back_populates="refs")


class GatewayLeaseRow(Base):
    """Which gateway of a group is the active one (``gateway.lease``): one row per group.

    ``token`` is the fencing token: it grows by one on every takeover and never goes back, so
    a write that carries an older token comes from an instance that has lost the lease. Times
    are the database's own clock (``now()``), never a gateway's.
    """

    __tablename__ = "gateway_lease"

    group_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200), default=None)
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
