"""The device registry: SQL rows behind an in-memory ref → device cache for the gateway."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from devices.catalogue import CATALOGUE
from devices.errors import Conflict, Invalid, NotFound
from devices.models import DeviceRefRow, DeviceRow, SiteRow
from devices.schemas import DeviceCreate, DevicePublic, DeviceRef, DeviceUpdate, SiteCreate
from devices.sites import SiteSchedule

__all__ = ["DeviceInfo", "DeviceRegistry"]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the gateway needs to know about a device, on the hot path."""

    id: str
    type: str
    name: str
    site_id: str | None
    place: str | None
    state: str
    expected_interval_s: int


def _public(row: DeviceRow) -> DevicePublic:
    return DevicePublic(
        id=row.id,
        type=row.type,
        name=row.name,
        site_id=row.site_id,
        place=row.place,
        state=row.state,
        refs=[DeviceRef(source=r.source, ref=r.ref) for r in row.refs],  # type: ignore[arg-type]
        expected_interval_s=row.expected_interval_s or CATALOGUE[row.type].expected_interval_s,
        installed_at=row.installed_at,
        installed_by=row.installed_by,
        notes=row.notes,
    )


def _info(row: DeviceRow) -> DeviceInfo:
    interval = row.expected_interval_s or CATALOGUE[row.type].expected_interval_s
    return DeviceInfo(row.id, row.type, row.name, row.site_id, row.place, row.state, interval)


class DeviceRegistry:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._by_ref: dict[str, DeviceInfo] = {}
        self._by_id: dict[str, DeviceInfo] = {}
        self.reload()

    # -- the hot path -------------------------------------------------------------------

    def lookup(self, ref: str) -> DeviceInfo | None:
        return self._by_ref.get(ref)

    def info(self, device_id: str) -> DeviceInfo | None:
        return self._by_id.get(device_id)

    def all_info(self) -> list[DeviceInfo]:
        return list(self._by_id.values())

    def reload(self) -> None:
        by_ref: dict[str, DeviceInfo] = {}
        by_id: dict[str, DeviceInfo] = {}
        with self._sessions() as s:
            for row in s.scalars(select(DeviceRow)):
                info = _info(row)
                by_id[row.id] = info
                for ref in row.refs:
                    by_ref[ref.ref] = info
        with self._lock:
            self._by_ref, self._by_id = by_ref, by_id

    # -- sites --------------------------------------------------------------------------

    def create_site(self, site: SiteCreate) -> SiteCreate:
        with self._sessions() as s:
            if s.get(SiteRow, site.id) is not None:
                raise Conflict(f"site {site.id!r} exists already")
            s.add(SiteRow(id=site.id, name=site.name, address=site.address))
            s.commit()
        return site

    def site_schedule(self, site_id: str) -> SiteSchedule | None:
        """The site's opening hours and holidays (None for an unknown site)."""
        with self._sessions() as s:
            row = s.get(SiteRow, site_id)
            if row is None:
                return None
            return SiteSchedule.from_json(row.opening_hours, row.holidays, row.timezone)

    def list_sites(self) -> list[SiteCreate]:
        with self._sessions() as s:
            rows = s.scalars(select(SiteRow).order_by(SiteRow.id))
            return [SiteCreate(id=r.id, name=r.name, address=r.address) for r in rows]

    # -- devices ------------------------------------------------------------------------

    def create(self, new: DeviceCreate, *, now: datetime) -> DevicePublic:
        if new.type not in CATALOGUE:
            known = ", ".join(sorted(CATALOGUE))
            raise Invalid(f"unknown device type {new.type!r}; known types: {known}")
        refs = list(new.refs)
        if not any(r.ref == new.id for r in refs):
            refs.insert(0, DeviceRef(source="native", ref=new.id))
        with self._sessions() as s:
            self._check_site(s, new.site_id)
            if s.get(DeviceRow, new.id) is not None:
                raise Conflict(f"device {new.id!r} exists already")
            taken = s.scalars(
                select(DeviceRefRow).where(DeviceRefRow.ref.in_([r.ref for r in refs]))
            ).first()
            if taken is not None:
                raise Conflict(f"ref {taken.ref!r} belongs to device {taken.device_id!r}")
            row = DeviceRow(
                id=new.id,
                type=new.type,
                name=new.name,
                site_id=new.site_id,
                place=new.place,
                expected_interval_s=new.expected_interval_s,
                installed_at=now,
                installed_by=new.installed_by,
                notes=new.notes,
                refs=[DeviceRefRow(source=r.source, ref=r.ref) for r in refs],
            )
            s.add(row)
            try:
                s.commit()
            except IntegrityError as exc:
                raise Conflict(f"device {new.id!r} or one of its refs exists already") from exc
            public = _public(row)
        self.reload()
        return public

    def update(self, device_id: str, change: DeviceUpdate) -> DevicePublic:
        with self._sessions() as s:
            row = s.get(DeviceRow, device_id)
            if row is None:
                raise NotFound(f"device {device_id!r} does not exist")
            fields: dict[str, Any] = change.model_dump(exclude_unset=True)
            if "site_id" in fields:
                self._check_site(s, fields["site_id"])
            for key, value in fields.items():
                setattr(row, key, value)
            s.commit()
            public = _public(row)
        self.reload()
        return public

    def get(self, device_id: str) -> DevicePublic:
        with self._sessions() as s:
            row = s.get(DeviceRow, device_id)
            if row is None:
                raise NotFound(f"device {device_id!r} does not exist")
            return _public(row)

    def list(
        self,
        *,
        site_id: str | None = None,
        type: str | None = None,
        state: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[DevicePublic], int]:
        query = select(DeviceRow)
        if site_id is not None:
            query = query.where(DeviceRow.site_id == site_id)
        if type is not None:
            query = query.where(DeviceRow.type == type)
        if state is not None:
            query = query.where(DeviceRow.state == state)
        with self._sessions() as s:
            rows = list(s.scalars(query.order_by(DeviceRow.id)))
        return [_public(r) for r in rows[offset : offset + limit]], len(rows)

    @staticmethod
    def _check_site(s: Session, site_id: str | None) -> None:
        if site_id is not None and s.get(SiteRow, site_id) is None:
            raise NotFound(f"site {site_id!r} does not exist")
