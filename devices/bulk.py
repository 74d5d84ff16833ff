"""Bulk import and export of devices as CSV, the way a municipality's spreadsheet has them.

Swedish Excel saves "CSV (semikolonavgränsad)" in Windows-1252 with ``;``; other tools write
UTF-8 (with or without a BOM) and ``,``. We take all of these: the delimiter is sniffed from the
header line, the text is UTF-8 (BOM tolerated) or else Windows-1252. Headers may be English or
Swedish (``typ``, ``namn``, ``fastighet``, ``rum``, ...). Refs are ``source:ref`` separated by
``|`` (a bare ref gets source ``other``). Export writes UTF-8 with a BOM and ``;`` so that Excel
opens it as is.

An import first checks every row and reports each bad one with its line number and reason;
only a file without errors is written, in one transaction (all or nothing). Every row is
checked against the caller's scope (``access.scope``): a device outside the caller's sites,
a place or care unit that is not theirs to use, is an error, and the reason never says
whether an id, place, unit or ref exists on another site.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from access.auth import Principal
from access.scope import may_use_care_unit
from core.csv_safe import write_csv
from devices.catalogue import CATALOGUE
from devices.models import CareUnitRow, DeviceRefRow, DeviceRow, PlaceRow, SiteRow
from devices.registry import DeviceRegistry
from devices.schemas import DeviceCreate

__all__ = [
    "COLUMNS",
    "ImportReport",
    "RowError",
    "export_csv",
    "import_csv",
    "parse_csv",
    "parse_refs",
]

COLUMNS = (
    "id",
    "type",
    "name",
    "site_id",
    "place_id",
    "place",
    "care_unit_id",
    "refs",
    "expected_interval_s",
    "installed_by",
    "notes",
    "state",
)
ALIASES = {
    "enhet": "id",
    "enhets-id": "id",
    "typ": "type",
    "namn": "name",
    "fastighet": "site_id",
    "site": "site_id",
    "plats-id": "place_id",
    "plats": "place",
    "rum": "place",
    "vårdenhet": "care_unit_id",
    "referenser": "refs",
    "intervall": "expected_interval_s",
    "intervall_s": "expected_interval_s",
    "installerad_av": "installed_by",
    "anteckningar": "notes",
    "status": "state",
}
STATES = ("active", "maintenance", "retired")
SOURCES = ("native", "chirpstack", "ttn", "zigbee2mqtt", "tasmota", "senml", "other")


class RowError(BaseModel):
    line: int
    reason: str


class ImportReport(BaseModel):
    dry_run: bool
    rows: int
    valid: int
    errors: list[RowError]
    imported: int = 0
    seconds: float = 0.0


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")  # Swedish Excel's "CSV (semikolonavgränsad)"


def _dialect(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in ";,\t"}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def parse_csv(data: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """(line number, row by canonical column) for every data row, or header errors."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(line=1, reason="the file is empty")]
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    unknown = [h for h, n in zip(header, names, strict=True) if n not in COLUMNS and n]
    errors = []
    if unknown:
        errors.append(
            RowError(
                line=1,
                reason=f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}",
            )
        )
    for required in ("id", "type"):
        if required not in names:
            errors.append(RowError(line=1, reason=f"column {required!r} is missing"))
    if errors:
        return [], errors
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        row = {n: v.strip() for n, v in zip(names, values, strict=False) if n}
        if len(values) > len(names):
            row["__extra__"] = "x"
        rows.append((reader.line_num, row))
    return rows, []


def parse_refs(text: str) -> list[dict[str, str]]:
    out = []
    for part in (p.strip() for p in text.split("|")):
        if not part:
            continue
        source, sep, ref = part.partition(":")
        if sep and source in SOURCES and ref:
            out.append({"source": source, "ref": ref})
        else:
            out.append({"source": "other", "ref": part})
    return out


class _Known:
    def __init__(self, registry: DeviceRegistry) -> None:
        with registry.sessions() as s:
            self.devices = dict(s.execute(select(DeviceRow.id, DeviceRow.site_id)).all())
            self.refs = dict(s.execute(select(DeviceRefRow.ref, DeviceRefRow.device_id)).all())
            self.sites = set(s.scalars(select(SiteRow.id)))
            self.places = dict(s.execute(select(PlaceRow.id, PlaceRow.site_id)).all())
            self.place_names = dict(s.execute(select(PlaceRow.id, PlaceRow.name)).all())
            self.care_units = dict(s.execute(select(CareUnitRow.id, CareUnitRow.site_id)).all())


def _pydantic_reason(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def _scope_reasons(new: DeviceCreate, known: _Known, user: Principal) -> list[str]:
    """Why a row is outside ``user``'s scope; the same words whether or not the site, place
    or care unit exists, so a dry run cannot be used to probe other sites."""
    reasons = []
    site_id = new.site_id
    if new.place_id is not None:
        place_site = known.places.get(new.place_id)
        if place_site is None or not user.may_see_site(place_site):
            # its site (or that it has none) is not named: that is what a probe would learn
            return [f"place {new.place_id!r} is not a place of your sites"]
        site_id = site_id or place_site
    if not user.may_see_site(site_id):
        reasons.append(
            f"site {site_id!r} is outside your scope" if site_id else "site_id is required"
        )
    unit = new.care_unit_id
    if unit is not None and (
        unit not in known.care_units or not may_use_care_unit(user, unit, known.care_units[unit])
    ):
        reasons.append(f"care unit {unit!r} is outside your sites and care units")
    return reasons


def _check(
    rows: list[tuple[int, dict[str, str]]], known: _Known, user: Principal | None
) -> tuple[list[dict[str, Any]], list[RowError]]:
    good: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen_ids: dict[str, int] = {}
    seen_refs: dict[str, int] = {}
    for line, row in rows:
        reasons: list[str] = []
        if "__extra__" in row:
            reasons.append("more values than columns (a delimiter inside an unquoted value?)")
        fields: dict[str, Any] = {
            k: v for k, v in row.items() if v and k not in ("refs", "state", "__extra__")
        }
        fields["refs"] = parse_refs(row.get("refs", ""))
        try:
            new = DeviceCreate(**fields)
        except ValidationError as exc:
            errors.append(RowError(line=line, reason=_pydantic_reason(exc)))
            continue
        if user is not None and (out := _scope_reasons(new, known, user)):
            errors.append(RowError(line=line, reason="; ".join(out)))
            continue
        state = row.get("state") or "active"
        if state not in STATES:
            reasons.append(f"state {state!r} is not one of {', '.join(STATES)}")
        if new.type not in CATALOGUE:
            reasons.append(f"unknown device type {new.type!r}")
        if new.id in known.devices:
            if user is None or user.may_see_site(known.devices[new.id]):
                reasons.append(f"device {new.id!r} exists already")
            else:  # ids are unique across sites; which site holds it is not the caller's
                reasons.append(f"device id {new.id!r} cannot be used; choose another")
        elif new.id in seen_ids:
            reasons.append(f"device {new.id!r} is also on line {seen_ids[new.id]}")
        site_id = new.site_id
        if new.place_id is not None:
            place_site = known.places.get(new.place_id)
            if place_site is None:
                reasons.append(f"place {new.place_id!r} does not exist")
            elif site_id is not None and site_id != place_site:
                reasons.append(f"place {new.place_id!r} is on site {place_site!r}, not {site_id!r}")
            site_id = place_site
        if site_id is not None and site_id not in known.sites:
            reasons.append(f"site {site_id!r} does not exist")
        if new.care_unit_id is not None and new.care_unit_id not in known.care_units:
            reasons.append(f"care unit {new.care_unit_id!r} does not exist")
        refs = [r.model_dump() for r in new.refs]
        if not any(r["ref"] == new.id for r in refs):
            refs.insert(0, {"source": "native", "ref": new.id})
        for r in refs:
            ref = r["ref"]
            if ref in known.refs:
                owner = known.refs[ref]
                if user is None or user.may_see_site(known.devices.get(owner)):
                    reasons.append(f"ref {ref!r} belongs to device {owner!r}")
                else:
                    reasons.append(f"ref {ref!r} cannot be used; it is taken")
            elif ref in seen_refs:
                reasons.append(f"ref {ref!r} is also on line {seen_refs[ref]}")
        seen_ids.setdefault(new.id, line)
        for r in refs:
            seen_refs.setdefault(r["ref"], line)
        if reasons:
            errors.append(RowError(line=line, reason="; ".join(reasons)))
            continue
        place = known.place_names.get(new.place_id) if new.place_id else new.place
        good.append(
            {
                "device": {
                    "id": new.id,
                    "type": new.type,
                    "name": new.name,
                    "site_id": site_id,
                    "place": place,
                    "place_id": new.place_id,
                    "care_unit_id": new.care_unit_id,
                    "expected_interval_s": new.expected_interval_s,
                    "installed_by": new.installed_by,
                    "notes": new.notes,
                    "state": state,
                },
                "refs": refs,
            }
        )
    return good, errors


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def import_csv(
    registry: DeviceRegistry,
    data: bytes,
    *,
    installed_by: str,
    now: datetime,
    dry_run: bool = True,
    user: Principal | None = None,
) -> ImportReport:
    """``user``: every row is checked against this caller's scope; None: no scope (the CLI,
    run by an operator on the server)."""
    started = time.perf_counter()
    rows, header_errors = parse_csv(data)
    if header_errors:
        return ImportReport(dry_run=dry_run, rows=0, valid=0, errors=header_errors)
    scoped = None if user is None or user.is_admin else user
    good, errors = _check(rows, _Known(registry), scoped)
    report = ImportReport(dry_run=dry_run, rows=len(rows), valid=len(good), errors=errors)
    if dry_run or errors or not good:
        report.seconds = round(time.perf_counter() - started, 3)
        return report
    devices = []
    for g in good:
        d = g["device"]
        d["installed_at"] = now
        d["installed_by"] = d["installed_by"] or installed_by
        d["retired_at"] = now if d["state"] == "retired" else None
        devices.append(d)
    refs = [{"device_id": g["device"]["id"], **r} for g in good for r in g["refs"]]
    with registry.sessions() as s:
        try:
            # Core inserts: no RETURNING of generated keys, one executemany per table
            s.execute(_table(DeviceRow).insert(), devices)
            s.execute(_table(DeviceRefRow).insert(), refs)
            s.commit()
        except IntegrityError as exc:
            s.rollback()
            report.errors = [
                RowError(line=0, reason=f"changed while importing; nothing imported ({exc.orig})")
            ]
            return report
    registry.reload()
    report.imported = len(devices)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _explicit_interval(type_key: str, interval: int) -> str:
    """Blank when it is the type's default, so a re-import keeps following the catalogue."""
    sensor = CATALOGUE.get(type_key)
    return "" if sensor is not None and sensor.expected_interval_s == interval else str(interval)


def _export_rows(
    registry: DeviceRegistry, site_in: Collection[str] | None = None
) -> Iterator[list[str]]:
    yield list(COLUMNS)
    offset = 0
    while True:
        page, _total = registry.list(site_in=site_in, offset=offset, limit=1000)
        if not page:
            return
        for d in page:
            refs = "|".join(f"{r.source}:{r.ref}" for r in d.refs if r.ref != d.id)
            yield [
                d.id,
                d.type,
                d.name,
                d.site_id or "",
                d.place_id or "",
                d.place or "",
                d.care_unit_id or "",
                refs,
                _explicit_interval(d.type, d.expected_interval_s),
                d.installed_by or "",
                d.notes or "",
                d.state,
            ]
        offset += len(page)


def export_csv(registry: DeviceRegistry, site_in: Collection[str] | None = None) -> bytes:
    """``site_in``: only devices of those sites (a user's scope); None: every device.

    Cells that a spreadsheet would run as a formula get a leading ``'`` (``csv_safe``).
    """
    text = write_csv(_export_rows(registry, site_in), delimiter=";", lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")
