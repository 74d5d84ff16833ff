"""Web pages with pictures: a device's history, a site's sensors at a glance, and the kitchen's
daily temperature record. Server-rendered; the charts are inline SVG (``dashboards.svgchart``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from access.auth import Principal, web_principal
from access.scope import AlertScope, may_see_alert, visible_sites
from alerts.messages import what
from core.bounds import DbId
from core.i18n import LANGS
from dashboards.alert_view import by_urgency
from dashboards.charts_api import check_device, check_site, now_of, site_month_record
from dashboards.charts_i18n import words
from dashboards.device_actions import SILENCE_HOURS
from dashboards.history import (
    GAP_FACTOR,
    RANGES,
    SMALL_CHART_BUCKETS,
    device_charts,
    device_state,
    load_chart_history,
    rules_of,
)
from dashboards.record_export import above_sv, num_sv
from dashboards.record_service import record_limits
from dashboards.svgchart import Threshold, render_svg
from dashboards.web import render
from devices.catalogue import CATALOGUE, is_care_device

__all__ = ["router"]

log = logging.getLogger(__name__)
STOCKHOLM = ZoneInfo("Europe/Stockholm")

router = APIRouter(include_in_schema=False)


def _user_or_redirect(request: Request) -> Principal | RedirectResponse:
    user = web_principal(request)
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return user


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("kv_lang") or "sv"
    return lang if lang in LANGS else "sv"


def _window(
    range_key: str | None, alert: Any | None, now: datetime
) -> tuple[str, datetime, datetime]:
    """The chart's range and end: the chosen preset ending now, or, coming from an alert, the
    smallest preset that shows the whole alert with some time around it."""
    if alert is None or range_key in RANGES:
        key = range_key if range_key in RANGES else "24h"
        return key, now - timedelta(seconds=RANGES[key]), now
    a_end = alert.resolved_at or now
    duration = (a_end - alert.started_at).total_seconds()
    key = next((k for k, s in RANGES.items() if s >= duration * 1.5 + 1800), "30d")
    span = timedelta(seconds=RANGES[key])
    end = min(now, a_end + (span - (a_end - alert.started_at)) / 2)
    return key, end - span, end


def _limit_lines(settings: Any, device_type: str, lang: str) -> dict[str, Threshold]:
    limit = record_limits(settings).get(device_type)
    if limit is None:
        return {}
    label = ("Limit" if lang == "en" else "Gräns") + f" {limit:g} °C"
    return {"temperature": Threshold("limit", limit, label)}


@router.get("/devices/{device_id}", response_model=None)
def device_page(
    request: Request,
    device_id: str,
    range: str | None = None,
    alert: DbId | None = None,
) -> Response:
    user = _user_or_redirect(request)
    if isinstance(user, RedirectResponse):
        return user
    started = time.perf_counter()
    state = request.app.state
    device = state.registry.get(device_id)
    check_device(user, device, request)
    now = now_of(request)
    highlighted = None
    if alert is not None:
        highlighted = state.alert_store.get(alert)
        if highlighted.device_id != device_id:
            raise HTTPException(404, f"alert {alert} is not an alert of {device_id}")
    key, start, end = _window(range, highlighted, now)
    sensor = CATALOGUE.get(device.type)
    metrics = list(sensor.metrics if sensor else ())
    latest = state.store.latest(device_id)
    metrics += [v.metric for v in latest if v.metric not in metrics]
    history = load_chart_history(
        state.store, device_id, metrics, start, end, interval_s=device.expected_interval_s
    )
    alerts = state.alert_store.list(device_id=device_id, limit=500, scope=AlertScope.of(user))
    lang = _lang(request)
    charts = device_charts(
        history=history,
        metrics=metrics,
        rules=rules_of(state.platform.engine, state.registry.info(device.id) or device.type),
        alerts=alerts,
        start=start.timestamp(),
        end=end.timestamp(),
        now=now.timestamp(),
        interval_s=device.expected_interval_s,
        lang=lang,
        highlight=alert,
        extra_thresholds=_limit_lines(state.settings, device.type, lang),
    )
    in_range = [
        a for a in alerts if a.started_at < end and (a.resolved_at is None or a.resolved_at > start)
    ]
    svgs = [(c, render_svg(c, lang)) for c in charts]
    log.debug("device page %s: %.1f ms", device_id, (time.perf_counter() - started) * 1000)
    return render(
        request,
        "device_history.html",
        user,
        w=words(lang),
        device=device,
        site_name=_site_name(request, device.site_id),
        silences=_silences_of(request, device.id, device.site_id, now),
        may_silence=user.may("alerts.silence"),
        silence_hours=SILENCE_HOURS,
        sensor=sensor,
        latest=latest,
        charts=svgs,
        range_key=key,
        ranges=list(RANGES),
        alerts=in_range,
        highlighted=highlighted,
        start=start,
        end=end,
    )


def _silences_of(
    request: Request, device_id: str | None, site_id: str | None, now: datetime
) -> list[Any]:
    """Silences now in force or to come for this device (None: none) or its site."""
    silences = request.app.state.platform.alerting.silences
    return [
        s
        for s in silences.list()
        if s.ends_at > now
        and (
            (s.scope == "device" and s.target == device_id)
            or (s.scope == "site" and s.target == site_id)
        )
    ]


def _site_name(request: Request, site_id: str | None) -> str | None:
    if site_id is None:
        return None
    try:
        return str(request.app.state.registry.get_site(site_id).name)
    except Exception:  # a site removed since: show its id
        return site_id


def _local_hm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, STOCKHOLM).strftime("%Y-%m-%d %H:%M")


@router.get("/sites/{site_id}", response_model=None)
def site_page(request: Request, site_id: str) -> Response:
    user = _user_or_redirect(request)
    if isinstance(user, RedirectResponse):
        return user
    check_site(user, site_id)
    state = request.app.state
    site = next((s for s in state.registry.list_sites() if s.id == site_id), None)
    if site is None:
        raise HTTPException(404, f"site {site_id!r} does not exist")
    lang = _lang(request)
    devices, _ = state.registry.list(site_id=site_id, limit=1000)
    open_by_device: dict[str, list[Any]] = {}
    for a in state.alert_store.open_alerts():
        if may_see_alert(user, a.site_id, a.tags):
            open_by_device.setdefault(a.device_id, []).append(a)
    now = now_of(request)
    start = now - timedelta(hours=24)
    engine = state.platform.engine
    tiles = []
    for d in devices:
        sensor = CATALOGUE.get(d.type)
        if sensor is None or is_care_device(d.type, d.care_unit_id) or d.state == "decommissioned":
            continue  # care sensors are personal data, not building telemetry
        latest = state.store.latest(d.id)
        last_t = max((v.time.timestamp() for v in latest), default=None)
        dev_state = device_state(
            open_by_device.get(d.id, []), last_t, now.timestamp(), d.expected_interval_s
        )
        metrics = list(sensor.metrics)
        history = load_chart_history(
            state.store,
            d.id,
            metrics,
            start,
            now,
            interval_s=d.expected_interval_s,
            buckets=SMALL_CHART_BUCKETS,
        )
        charts = device_charts(
            history=history,
            metrics=metrics,
            rules=rules_of(engine, state.registry.info(d.id) or d.type),
            alerts=state.alert_store.list(device_id=d.id, limit=100, scope=AlertScope.of(user)),
            start=start.timestamp(),
            end=now.timestamp(),
            now=now.timestamp(),
            interval_s=d.expected_interval_s,
            lang=lang,
            extra_thresholds=_limit_lines(state.settings, d.type, lang),
            small=True,
            state=dev_state,
        )
        # the reason in words: a "Kritiskt" tile whose chart looks normal (20,5 °C) is
        # critical for something else, e.g. a battery at 4 %
        reasons = [what(a) for a in by_urgency(open_by_device.get(d.id, []))]
        if dev_state == "silent" and last_t is not None:
            reasons.append(f"{words(lang)['silent_since']} {_local_hm(last_t)}")
        primary = charts[0] if charts else None
        shown = next((v for v in latest if primary and v.metric == primary.series[0].metric), None)
        tiles.append(
            {
                "device": d,
                "sensor": sensor,
                "state": dev_state,
                "reasons": reasons,
                "latest": shown,
                "svg": render_svg(primary, lang) if primary and primary.series else "",
            }
        )
    order = {"critical": 0, "warning": 1, "silent": 2, "unknown": 3, "ok": 4}
    tiles.sort(key=lambda t: (order.get(t["state"], 5), t["device"].name or t["device"].id))
    has_record = any(d.type in record_limits(state.settings) for d in devices)
    return render(
        request,
        "site_overview.html",
        user,
        w=words(lang),
        site=site,
        tiles=tiles,
        has_record=has_record,
        silences=_silences_of(request, None, site_id, now),
        may_silence=user.may("alerts.silence"),
        silence_hours=SILENCE_HOURS,
    )


@router.get("/sites/{site_id}/daily-record", response_model=None)
def daily_record_page(request: Request, site_id: str, month: str | None = None) -> Response:
    user = _user_or_redirect(request)
    if isinstance(user, RedirectResponse):
        return user
    check_site(user, site_id)
    record, year, mon = site_month_record(request, site_id, month)
    prev_m = (year, mon - 1) if mon > 1 else (year - 1, 12)
    next_m = (year, mon + 1) if mon < 12 else (year + 1, 1)
    return render(
        request,
        "daily_record.html",
        user,
        w=words(_lang(request)),
        num=num_sv,
        above=above_sv,
        record=record,
        prev_month=f"{prev_m[0]:04d}-{prev_m[1]:02d}",
        next_month=f"{next_m[0]:04d}-{next_m[1]:02d}",
        gap_factor=GAP_FACTOR,
    )


@router.get("/sites", response_model=None)
def sites_page(request: Request) -> Response:
    """Every site the user may see, with how many sensors and open alerts it has."""
    user = _user_or_redirect(request)
    if isinstance(user, RedirectResponse):
        return user
    state = request.app.state
    limits = record_limits(state.settings)
    # the one rule: a care alert's severity is not a building's, nor anyone's without care.read
    open_alerts = [
        a for a in state.alert_store.open_alerts() if may_see_alert(user, a.site_id, a.tags)
    ]
    rows = []
    for site in state.registry.list_sites(site_in=visible_sites(user)):
        devices, _ = state.registry.list(site_id=site.id, limit=10_000)
        ids = {d.id for d in devices}
        severities = {a.severity for a in open_alerts if a.device_id in ids}
        worst = "critical" if "critical" in severities else "warning" if severities else "ok"
        rows.append(
            {
                "site": site,
                "devices": len(devices),
                "alerts": sum(1 for a in open_alerts if a.device_id in ids),
                "state": worst,
                "has_record": any(d.type in limits for d in devices),
            }
        )
    return render(request, "sites.html", user, w=words(_lang(request)), rows=rows)
