"""REST routes for history and the daily temperature record, so Grafana-less users can export.

``GET /api/v1/devices/{id}/history?from=&to=&step=&metric=``: raw readings when no step is
given (at most ``MAX_RAW`` per metric, else 422 asking for a step), min/max/mean buckets
otherwise, computed by the store where it can (``BucketedHistory``: one SQL query on the
embedded store, one Flux query on InfluxDB). A time without an offset is Europe/Stockholm
wall-clock time.
``GET /api/v1/sites/{id}/daily-record?month=YYYY-MM&format=json|csv|pdf``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from access.auth import Principal, RequireUser
from access.deps import Now
from core.bounds import Moment
from dashboards.daily_record import SiteRecord, parse_month
from dashboards.downsample import Bucket, downsample
from dashboards.history import load_history, parse_step
from dashboards.record_export import record_csv, record_pdf
from dashboards.record_service import build_site_record, record_limits
from devices.catalogue import CATALOGUE, is_care_device
from devices.deps import Registry
from devices.schemas import DevicePublic
from ingest.deps import Readings
from ingest.store import BucketedHistory, HistoryBucket

__all__ = [
    "MAX_BUCKETS",
    "MAX_RANGE",
    "MAX_RAW",
    "check_device",
    "check_site",
    "now_of",
    "router",
]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAX_RANGE = timedelta(days=92)
MAX_RAW = 20_000
MAX_BUCKETS = 10_000

router = APIRouter(prefix="/api/v1", tags=["history"])


def now_of(request: Request) -> datetime:
    """The platform's clock (tests pass a fixed one), for the pages; routes take
    ``access.deps.Now``."""
    clock: Callable[[], datetime] = request.app.state.platform.clock
    return clock()


def check_site(user: Principal, site_id: str | None) -> None:
    """Admin sees every site, others the sites in their scope (``Principal.may_see_site``)."""
    if user.may_see_site(site_id):
        return
    raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to site {site_id!r}")


def check_device(user: Principal, device: DevicePublic, request: Request | None = None) -> None:
    """Care sensors (bed, safety alarm) are personal data, kept apart from building telemetry:
    only an admin sees their history here, and each look is in the audit log."""
    if is_care_device(device.type, device.care_unit_id):
        if not user.is_admin:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "care sensors are not shown here")
        if request is not None:
            request.app.state.platform.audit.record(
                now_of(request),
                user.name,
                "care.device.read",
                "device",
                device.id,
                source_ip=request.client.host if request.client else None,
            )
    check_site(user, device.site_id)


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=STOCKHOLM) if t.tzinfo is None else t


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _bucket_json(b: Bucket | HistoryBucket) -> dict[str, Any]:
    return {
        "start": _iso(b.start),
        "count": b.count,
        "min": b.min,
        "min_time": _iso(b.min_t),
        "max": b.max,
        "max_time": _iso(b.max_t),
        "mean": b.mean,
    }


@router.get("/devices/{device_id}/history")
def device_history(
    device_id: str,
    request: Request,
    user: RequireUser,
    registry: Registry,
    store: Readings,
    now: Now,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Moment | None = None,
    step: str | None = None,
    metric: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    device = registry.get(device_id)
    check_device(user, device, request)
    end = _aware(to) if to is not None else now
    start = _aware(from_) if from_ is not None else end - timedelta(hours=24)
    if start >= end:
        raise HTTPException(422, "from must be before to")
    if end - start > MAX_RANGE:
        raise HTTPException(422, f"at most {MAX_RANGE.days} days per request")
    step_s: float | None = None
    if step is not None:
        try:
            step_s = parse_step(step)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        if step_s <= 0 or (end - start).total_seconds() / step_s > MAX_BUCKETS:
            raise HTTPException(422, f"step too small: at most {MAX_BUCKETS} buckets")
    sensor = CATALOGUE.get(device.type)
    metrics = metric or list(sensor.metrics if sensor else ())
    if not metric:
        metrics += [v.metric for v in store.latest(device_id) if v.metric not in metrics]
    in_store: dict[str, Sequence[HistoryBucket]] = {}
    if step_s is not None and isinstance(store, BucketedHistory):
        for name in dict.fromkeys(metrics):
            got = store.history_buckets(device_id, name, start, end, step_s)
            if got:  # else not numeric, no readings, or not here: read raw
                in_store[name] = got
    hist = load_history(store, device_id, [m for m in metrics if m not in in_store], start, end)
    series: list[dict[str, Any]] = []
    origin = start.timestamp()
    for name in metrics:
        unit = hist.units.get(name)
        if name in in_store:
            unit = in_store[name][0].unit
            body: dict[str, Any] = {"buckets": [_bucket_json(b) for b in in_store[name]]}
        elif name in hist.numeric:
            pts = hist.numeric[name]
            if step_s is None:
                if len(pts) > MAX_RAW:
                    raise HTTPException(
                        422, f"{len(pts)} readings of {name}: more than {MAX_RAW}; pass step"
                    )
                body = {"points": [{"time": _iso(t), "value": v} for t, v in pts]}
            else:
                body = {"buckets": [_bucket_json(b) for b in downsample(pts, origin, step_s)]}
        elif name in hist.boolean:
            flags = hist.boolean[name]
            if step_s is not None:  # a state is summarised by its changes
                flags = [p for i, p in enumerate(flags) if i == 0 or p[1] != flags[i - 1][1]]
            body = {"points": [{"time": _iso(t), "value": v} for t, v in flags[:MAX_RAW]]}
        else:
            continue
        series.append({"metric": name, "unit": unit, **body})
    return {
        "device_id": device_id,
        "from": start.astimezone(UTC),
        "to": end.astimezone(UTC),
        "step": step_s,
        "series": series,
    }


def site_month_record(
    request: Request, site_id: str, month: str | None
) -> tuple[SiteRecord, int, int]:
    """The site's daily record for ``month`` (YYYY-MM; default: this month in Stockholm), with
    its year and month; 422 for a malformed month. The API and the web page share it."""
    now = now_of(request)
    local_now = now.astimezone(STOCKHOLM)
    try:
        year, mon = parse_month(month) if month else (local_now.year, local_now.month)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    state = request.app.state
    record = build_site_record(
        registry=state.registry,
        store=state.store,
        alert_store=state.alert_store,
        site_id=site_id,
        year=year,
        month=mon,
        limits=record_limits(state.settings),
        now=now,
    )
    return record, year, mon


@router.get("/sites/{site_id}/daily-record", response_model=None)
def daily_record(
    site_id: str,
    request: Request,
    user: RequireUser,
    month: str | None = None,
    format: Literal["json", "csv", "pdf"] = "json",
) -> Response | dict[str, Any]:
    check_site(user, site_id)
    record, _year, _mon = site_month_record(request, site_id, month)
    name = f"temperaturlogg-{site_id}-{record.month}"
    if format == "csv":
        return Response(
            record_csv(record),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "pdf":
        return Response(
            record_pdf(record),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )
    return asdict(record)
