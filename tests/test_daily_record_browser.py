"""The daily temperature record in Chromium, as the kitchen reads it on a phone: a day nobody
measured says so, and the time above the limit is on screen without scrolling sideways."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from ingest.store import StoredReading
from tests.support.a11y import serious_violations
from tests.support.net import free_port, wait_port
from tests.support.platform import TOKEN
from tests.support.record_month import NOW, TEMPS
from tests.support.shots import DESKTOP, PHONE, shoot

pytestmark = pytest.mark.browser
PASSWORD = "kökets långa lösenord 7"


@pytest.fixture
def kitchen(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    from gateway.app import create_app
    from gateway.platform import Platform
    from gateway.settings import load_settings

    port = free_port()
    settings = load_settings(data_dir=tmp_path / "data", admin_token=TOKEN, api_port=port)
    p = Platform(settings, clock=lambda: NOW)
    p.start(mqtt=False)
    app = create_app(p)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            c.post("/api/v1/sites", json={"id": "solgarden", "name": "Solgårdens kök"})
            for dev in (
                {"id": "frys-1", "type": "freezer", "name": "Frys 1", "place": "Förråd"},
                {"id": "kyl-1", "type": "fridge", "name": "Kyl 1"},
            ):
                r = c.post("/api/v1/devices", json={**dev, "site_id": "solgarden"})
                assert r.status_code == 201, r.text
            p.store.write([StoredReading("frys-1", t, "temperature", v, "Cel") for t, v in TEMPS])
            # the fridge came on line on 20 October at noon, and was a few seconds too warm
            start = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)
            fridge = [(start + timedelta(minutes=10 * i), 4.0) for i in range(12 * 6 * 24)]
            fridge.append((start + timedelta(hours=20, seconds=5), 9.0))
            fridge.append((start + timedelta(hours=20, seconds=20), 4.0))
            p.store.write([StoredReading("kyl-1", t, "temperature", v, "Cel") for t, v in fridge])
            p.users.add("kock", "facility_staff", NOW, password=PASSWORD, sites=["solgarden"])
        thread.start()
        wait_port(port)
        yield f"http://127.0.0.1:{port}", p
    finally:
        server.should_exit = True
        thread.join(10)
        p.stop()


@pytest.mark.parametrize(("size", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_no_data_reads_as_no_data_and_the_limit_column_fits(
    browser: Any, kitchen: tuple[str, Any], size: dict[str, int], name: str
) -> None:
    base = kitchen[0]
    page = browser.new_page(viewport=size)
    try:
        page.goto(f"{base}/login?next=/sites/solgarden/daily-record%3Fmonth%3D2026-10")
        page.fill("#username", "kock")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("table.record").count(), (page.url, page.inner_text("body")[:500])
        fridge = page.locator("section[data-device-id='kyl-1']")
        # before the fridge existed: nothing is known, and the record does not say 0
        before = fridge.locator("tr[data-day='2026-10-05'] td.above")
        assert before.inner_text() == "ingen data"
        first = fridge.locator("tr[data-day='2026-10-20'] td.above")
        assert first.inner_text() == "0 (data 12 h)"  # half a day: said, not hidden
        # 15 seconds too warm: marked, and not as "0 !"
        short = fridge.locator("tr[data-day='2026-10-21'] td.above")
        assert short.inner_text() == "<1 !"
        # the column the record is for is on screen without scrolling sideways
        freezer_day = page.locator("section[data-device-id='frys-1'] tr[data-day='2026-10-25']")
        cell = freezer_day.locator("td.above")
        assert cell.inner_text() == "60 !"
        box = cell.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= size["width"], box
        assert page.locator("th", has_text="Över gräns").first.is_visible()
        assert serious_violations(page) == []
        fridge.locator("tr[data-day='2026-10-04']").evaluate("e => e.scrollIntoView()")
        shoot(page, f"daily-record-{name}")
    finally:
        page.close()


def _sign_in(page: Any, base: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("#username", "kock")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}{then}")


def test_a_site_tile_says_why_it_is_critical(browser: Any, kitchen: tuple[str, Any]) -> None:
    base, platform = kitchen
    platform.alerts.fire(
        "kyl-1", "battery_low", "critical", NOW - timedelta(hours=1), metric="battery",
        value=4.0, threshold=5.0, site_id="solgarden",
        message="Under gränsen sedan 2026-11-05 12:00.",
    )  # fmt: skip
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = browser.new_page(viewport=size)
        try:
            _sign_in(page, base, "/sites/solgarden")
            tile = page.locator("a.tile[data-device-id='kyl-1']")
            assert tile.get_attribute("data-state") == "critical"
            # the chart shows a normal 4 °C: the tile names the cause in words
            assert "Batterinivå 4 %, gräns 5 %" in tile.locator(".reason").inner_text()
            assert serious_violations(page) == []
            shoot(page, f"site-tiles-{name}")
        finally:
            page.close()


@pytest.mark.parametrize("path", ["/sites", "/devices", "/devices/kyl-1", "/alerts"])
def test_building_pages_have_no_serious_accessibility_violations(
    browser: Any, kitchen: tuple[str, Any], path: str
) -> None:
    base, _platform = kitchen
    for size in (PHONE, DESKTOP):
        page = browser.new_page(viewport=size)
        try:
            _sign_in(page, base, path)
            assert serious_violations(page) == [], (path, size)
        finally:
            page.close()
