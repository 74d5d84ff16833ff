"""Device history and site overview in headless Chromium, on a phone-sized screen, against the
platform as a real process fed over MQTT (readings carry their own times)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import wait_for
from tests.support.shots import shoot

pytestmark = pytest.mark.browser
PASSWORD = "frysen ska vara kall 18"


def shed_history(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """20 h of 10-minute readings: warm 6..5 h ago (warning, then resolved), silent 4..2 h
    ago, critical for the last hour."""
    out = []
    for i in range(120, -1, -1):
        hours_ago = i / 6
        if 2 < hours_ago < 4:
            continue
        temp = 21.0 + (i % 6) * 0.3
        if 5 <= hours_ago <= 6:
            temp = 27.0
        if hours_ago <= 1:
            temp = 31.0
        t = (now - timedelta(minutes=10 * i)).isoformat()
        out.append(("kv/bod-7/up", {"time": t, "values": {"temperature": temp, "humidity": 40}}))
    return out


def freezer_history(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for i in range(36, -1, -1):
        t = (now - timedelta(minutes=10 * i)).isoformat()
        values: dict[str, Any] = {"temperature": -20.5, "door_open": i in (30, 12, 11)}
        out.append(("kv/frys-7/up", {"time": t, "values": values}))
    return out


def test_device_chart_and_site_overview(
    browser: Any, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        env={"KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": 0}})},
    ).start()
    proc.post("/api/v1/sites", {"id": "norra", "name": "Norra skolan"})
    proc.post(
        "/api/v1/devices",
        {
            "id": "bod-7",
            "type": "technical_shed_temperature",
            "name": "Teknikbod 7",
            "site_id": "norra",
        },
    )
    proc.post(
        "/api/v1/devices",
        {"id": "frys-7", "type": "freezer", "name": "Frys kök", "site_id": "norra"},
    )
    # kitchen staff scoped to this site (issue 7's roles); the charts need nothing more
    proc.post(
        "/api/v1/users",
        {
            "username": "kok-norra",
            "role": "facility_staff",
            "password": PASSWORD,
            "sites": ["norra"],
        },
    )
    now = datetime.now(UTC).replace(microsecond=0)
    proc.publish_all(shed_history(now) + freezer_history(now))
    wait_for(
        lambda: (
            len(proc.get("/api/v1/alerts", state="resolved", device_id="bod-7")) == 1
            and len(proc.get("/api/v1/alerts", state="active", device_id="bod-7")) == 1
        ),
        what="one resolved warning and one active critical alert",
    )
    wait_for(
        lambda: len(proc.get("/api/v1/devices/frys-7/history")["series"]) == 2,
        what="the freezer's readings stored",
    )

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{proc.base_url}/login?next=/alerts")
        page.fill("#username", "kok-norra")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{proc.base_url}/alerts")
        # from the alert to its chart, the alert's own period highlighted
        page.click("tr[data-state=active] a.device-link[href^='/devices/bod-7']")
        page.wait_for_url("**/devices/bod-7?alert=*")
        assert page.locator("rect.alert-period.highlighted").count() == 1
        assert page.locator("#highlighted-alert").count() == 1

        page.click("a[data-range='24h']")
        page.wait_for_url("**/devices/bod-7?range=24h")
        svg_temp = page.locator("[data-chart=temperature] svg.chart")
        assert page.locator("g.series").count() == 2  # temperature and humidity
        assert page.locator("g.series[data-metric=temperature]").count() == 1
        assert svg_temp.locator("line.threshold").count() == 2
        assert (
            svg_temp.locator("line.threshold[data-severity=warning]").get_attribute("data-value")
            == "25"
        )
        assert svg_temp.locator("line.threshold[data-severity=critical]").count() == 1
        # each limit line says its value
        limits = svg_temp.locator("text.threshold-label").all_text_contents()
        assert sorted(limits) == ["25", "30"]
        assert svg_temp.locator("rect.alert-period").count() == 2
        assert svg_temp.locator("rect.alert-period[data-severity=critical]").count() == 1
        # the 2-hour silence breaks the line (and so does nothing else)
        assert svg_temp.locator("g.series polyline.segment").count() == 2
        assert svg_temp.locator("rect.silent").count() == 2  # before the first reading, and the gap
        assert "Temperatur" in page.locator("[data-chart=temperature] h2").inner_text()
        labels = svg_temp.locator("text.tick-label").all_text_contents()
        assert labels
        assert all(":" in x or "/" in x for x in labels)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = svg_temp.bounding_box()
        assert box is not None
        assert 300 <= box["width"] <= 390
        page.locator("[data-chart=temperature]").evaluate("e => e.scrollIntoView()")
        shoot(page, "device-chart-phone")

        page.goto(f"{proc.base_url}/devices/frys-7?range=6h")
        frys = page.locator("[data-chart=temperature] svg.chart")
        assert frys.locator("rect.door-open").count() == 2
        # the freezer_too_warm rule (-18 warning, -15 critical) draws the record's -18 limit
        # once (no duplicate "limit" line); its door rules are not thresholds and draw nothing
        assert frys.locator("line.threshold[data-value='-18']").count() == 1
        assert frys.locator("line.threshold").count() == 2

        # the last hour, for minutes of data: quarter-hour ticks, not a sliver at the edge
        page.click("a[data-range='1h']")
        page.wait_for_url("**/devices/frys-7?range=1h")
        quarter = page.locator("[data-chart=temperature] text.tick-label").all_text_contents()
        assert any(x.endswith((":15", ":30", ":45")) for x in quarter), quarter

        page.click("header a[href='/sites']")
        page.wait_for_url(f"{proc.base_url}/sites")
        assert page.locator("tr[data-site-id=norra]").get_attribute("data-state") == "critical"
        page.click("tr[data-site-id=norra] a[href='/sites/norra']")
        page.wait_for_url(f"{proc.base_url}/sites/norra")
        tiles = page.locator("a.tile")
        assert tiles.count() == 2
        assert tiles.first.get_attribute("data-device-id") == "bod-7"  # worst state first
        assert tiles.first.get_attribute("data-state") == "critical"
        assert page.locator("a.tile[data-device-id=frys-7]").get_attribute("data-state") == "ok"
        assert page.locator("a.tile svg.chart g.series").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "site.png"), full_page=True)

        page.click("text=Temperaturlogg")
        assert page.locator("section[data-device-id=frys-7] tr[data-day]").count() >= 1
    finally:
        page.close()
