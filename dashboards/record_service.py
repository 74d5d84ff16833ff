"""Reads the stores to build a site's daily temperature record (the figures are pure, in
``dashboards.daily_record``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from dashboards.daily_record import (
    DEFAULT_LIMITS,
    DeviceRecord,
    SiteRecord,
    day_records,
    local_days,
)
from dashboards.history import GAP_FACTOR, load_history
from devices.errors import NotFound

__all__ = ["build_site_record", "record_limits"]


class RecordSettings(Protocol):
    @property
    def record_limits(self) -> Mapping[str, float]: ...


def record_limits(settings: RecordSettings) -> dict[str, float]:
    """The configured limits per device type (``record_limits`` in the settings), else the
    defaults: the types named here are the ones the record covers."""
    limits = settings.record_limits
    return dict(limits) if limits else dict(DEFAULT_LIMITS)


def _site_name(registry: Any, site_id: str) -> str:
    for site in registry.list_sites():
        if site.id == site_id:
            return str(site.name)
    raise NotFound(f"site {site_id!r} does not exist")


def build_site_record(
    *,
    registry: Any,
    store: Any,
    alert_store: Any,
    site_id: str,
    year: int,
    month: int,
    limits: Mapping[str, float],
    now: datetime,
) -> SiteRecord:
    name = _site_name(registry, site_id)
    devices, _ = registry.list(site_id=site_id, limit=10_000)
    days = local_days(year, month)
    start = datetime.fromtimestamp(days[0][1], UTC)
    end = datetime.fromtimestamp(days[-1][2], UTC)
    out: list[DeviceRecord] = []
    for d in devices:
        if d.type not in limits or d.state == "decommissioned":
            continue
        max_hold = GAP_FACTOR * d.expected_interval_s
        # the last reading before the month holds into its first minutes
        history = load_history(
            store,
            d.id,
            ("temperature", "door_open"),
            start - timedelta(seconds=max_hold),
            min(end, now),
        )
        alerts = [
            a for a in alert_store.list(device_id=d.id, limit=10_000) if start <= a.started_at < end
        ]
        rows = day_records(
            history.numeric.get("temperature", []),
            history.boolean.get("door_open", []) if d.type in ("freezer", "fridge") else None,
            alerts,
            year,
            month,
            limit=float(limits[d.type]),
            max_hold=max_hold,
            now=now,
        )
        out.append(DeviceRecord(d.id, d.name or d.id, d.place, d.type, limits[d.type], tuple(rows)))
    return SiteRecord(site_id, name, f"{year:04d}-{month:02d}", now, tuple(out))
