"""Sites, places and care units: municipality → site → place, and care units of elderly care.

``SiteDirectory`` is a mixin of ``DeviceRegistry`` (it shares its sessions), kept apart so that
each module stays small. Deleting something still referenced is refused with a reason.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from devices.errors import Conflict, NotFound
from devices.models import CareUnitRow, DeviceRow, PlaceRow, SiteRow
from devices.schemas import (
    CareUnitCreate,
    CareUnitPublic,
    CareUnitUpdate,
    PlaceCreate,
    PlacePublic,
    PlaceUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)
from devices.sites import SiteSchedule

__all__ = ["SiteDirectory"]


def site_public(row: SiteRow) -> SitePublic:
    hours = {d: h for d, h in (row.opening_hours or {}).items() if h}
    return SitePublic(
        id=row.id,
        name=row.name,
        municipality=row.municipality,
        address=row.address,
        timezone=row.timezone,
        opening_hours=hours,
        holidays=row.holidays or [],  # type: ignore[arg-type]
    )


def _site_json(fields: dict[str, Any]) -> dict[str, Any]:
    if fields.get("opening_hours") is not None:
        fields["opening_hours"] = {d: h for d, h in fields["opening_hours"].items() if h}
    if fields.get("holidays") is not None:
        fields["holidays"] = [d.isoformat() for d in fields["holidays"]]
    return fields


def _commit(s: Session, what: str) -> None:
    try:
        s.commit()
    except IntegrityError as exc:
        s.rollback()
        raise Conflict(f"{what} is still referenced (devices, places or residents)") from exc


class SiteDirectory:
    _sessions: sessionmaker[Session]

    # -- sites --------------------------------------------------------------------------

    def create_site(self, site: SiteCreate) -> SitePublic:
        with self._sessions() as s:
            if s.get(SiteRow, site.id) is not None:
                raise Conflict(f"site {site.id!r} exists already")
            row = SiteRow(**_site_json(site.model_dump()))
            s.add(row)
            s.commit()
            return site_public(row)

    def get_site(self, site_id: str) -> SitePublic:
        with self._sessions() as s:
            return site_public(self._site_row(s, site_id))

    def list_sites(
        self, municipality: str | None = None, site_in: Collection[str] | None = None
    ) -> list[SitePublic]:
        """``site_in``: only those sites (a user's scope); None: every site."""
        query = select(SiteRow).order_by(SiteRow.id)
        if site_in is not None:
            query = query.where(SiteRow.id.in_(sorted(site_in)))
        if municipality is not None:
            query = query.where(SiteRow.municipality == municipality)
        with self._sessions() as s:
            return [site_public(r) for r in s.scalars(query)]

    def update_site(self, site_id: str, change: SiteUpdate) -> SitePublic:
        with self._sessions() as s:
            row = self._site_row(s, site_id)
            for key, value in _site_json(change.model_dump(exclude_unset=True)).items():
                if key in ("name", "timezone") and value is None:
                    continue
                setattr(row, key, value)
            s.commit()
            return site_public(row)

    def delete_site(self, site_id: str) -> None:
        with self._sessions() as s:
            row = self._site_row(s, site_id)
            devices = s.scalar(select(func.count()).where(DeviceRow.site_id == site_id))
            places = s.scalar(select(func.count()).where(PlaceRow.site_id == site_id))
            if devices or places:
                raise Conflict(
                    f"site {site_id!r} still has {devices} device(s) and {places} place(s); "
                    "move or retire them first"
                )
            s.delete(row)
            _commit(s, f"site {site_id!r}")

    def site_schedule(self, site_id: str) -> SiteSchedule | None:
        """The site's opening hours and holidays (None for an unknown site)."""
        with self._sessions() as s:
            row = s.get(SiteRow, site_id)
            if row is None:
                return None
            return SiteSchedule.from_json(row.opening_hours, row.holidays, row.timezone)

    # -- places -------------------------------------------------------------------------

    def create_place(self, place: PlaceCreate) -> PlacePublic:
        with self._sessions() as s:
            self._require_site(s, place.site_id)
            if s.get(PlaceRow, place.id) is not None:
                raise Conflict(f"place {place.id!r} exists already")
            s.add(PlaceRow(**place.model_dump()))
            s.commit()
        return PlacePublic(**place.model_dump())

    def list_places(
        self, site_id: str | None = None, site_in: Collection[str] | None = None
    ) -> list[PlacePublic]:
        """``site_in``: only places of those sites (a user's scope); None: every place."""
        query = select(PlaceRow).order_by(PlaceRow.site_id, PlaceRow.name)
        if site_in is not None:
            query = query.where(PlaceRow.site_id.in_(sorted(site_in)))
        if site_id is not None:
            query = query.where(PlaceRow.site_id == site_id)
        with self._sessions() as s:
            return [_place(r) for r in s.scalars(query)]

    def get_place(self, place_id: str) -> PlacePublic:
        with self._sessions() as s:
            return _place(self._place_row(s, place_id))

    def update_place(self, place_id: str, change: PlaceUpdate) -> PlacePublic:
        with self._sessions() as s:
            row = self._place_row(s, place_id)
            fields = change.model_dump(exclude_unset=True)
            for key, value in fields.items():
                if key == "name" and value is None:
                    continue
                setattr(row, key, value)
            if fields.get("name"):
                # devices show the place's name; keep them in step with a rename
                for device in s.scalars(select(DeviceRow).where(DeviceRow.place_id == place_id)):
                    device.place = fields["name"]
            s.commit()
            public = _place(row)
        self.reload()
        return public

    def delete_place(self, place_id: str) -> None:
        with self._sessions() as s:
            row = self._place_row(s, place_id)
            used = s.scalar(select(func.count()).where(DeviceRow.place_id == place_id))
            if used:
                raise Conflict(f"place {place_id!r} still has {used} device(s)")
            s.delete(row)
            _commit(s, f"place {place_id!r}")

    # -- care units ---------------------------------------------------------------------

    def create_care_unit(self, unit: CareUnitCreate) -> CareUnitPublic:
        with self._sessions() as s:
            self._require_site(s, unit.site_id)
            if s.get(CareUnitRow, unit.id) is not None:
                raise Conflict(f"care unit {unit.id!r} exists already")
            s.add(CareUnitRow(**unit.model_dump()))
            s.commit()
        return CareUnitPublic(**unit.model_dump())

    def list_care_units(self) -> list[CareUnitPublic]:
        with self._sessions() as s:
            rows = s.scalars(select(CareUnitRow).order_by(CareUnitRow.id))
            return [CareUnitPublic(id=r.id, name=r.name, site_id=r.site_id) for r in rows]

    def get_care_unit(self, unit_id: str) -> CareUnitPublic:
        with self._sessions() as s:
            r = self._care_unit_row(s, unit_id)
            return CareUnitPublic(id=r.id, name=r.name, site_id=r.site_id)

    def update_care_unit(self, unit_id: str, change: CareUnitUpdate) -> CareUnitPublic:
        with self._sessions() as s:
            row = self._care_unit_row(s, unit_id)
            fields = change.model_dump(exclude_unset=True)
            self._require_site(s, fields.get("site_id"))
            for key, value in fields.items():
                if key == "name" and value is None:
                    continue
                setattr(row, key, value)
            s.commit()
            return CareUnitPublic(id=row.id, name=row.name, site_id=row.site_id)

    def delete_care_unit(self, unit_id: str) -> None:
        with self._sessions() as s:
            row = self._care_unit_row(s, unit_id)
            used = s.scalar(select(func.count()).where(DeviceRow.care_unit_id == unit_id))
            if used:
                raise Conflict(f"care unit {unit_id!r} still has {used} device(s)")
            s.delete(row)
            _commit(s, f"care unit {unit_id!r}")

    # -- lookups that raise -------------------------------------------------------------

    def reload(self) -> None:  # overridden by DeviceRegistry
        pass

    @staticmethod
    def _require_site(s: Session, site_id: str | None) -> None:
        if site_id is not None and s.get(SiteRow, site_id) is None:
            raise NotFound(f"site {site_id!r} does not exist; create it first")

    @staticmethod
    def _site_row(s: Session, site_id: str) -> SiteRow:
        row = s.get(SiteRow, site_id)
        if row is None:
            raise NotFound(f"site {site_id!r} does not exist")
        return row

    @staticmethod
    def _place_row(s: Session, place_id: str) -> PlaceRow:
        row = s.get(PlaceRow, place_id)
        if row is None:
            raise NotFound(f"place {place_id!r} does not exist")
        return row

    @staticmethod
    def _care_unit_row(s: Session, unit_id: str) -> CareUnitRow:
        row = s.get(CareUnitRow, unit_id)
        if row is None:
            raise NotFound(f"care unit {unit_id!r} does not exist")
        return row


def _place(r: PlaceRow) -> PlacePublic:
    return PlacePublic(id=r.id, site_id=r.site_id, name=r.name, notes=r.notes)
