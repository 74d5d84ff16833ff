"""``/alerts`` in headless Chromium on a phone: a facility user acknowledges, then resolves."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.a11y import serious_violations
from tests.support.net import wait_for
from tests.support.shots import DESKTOP, PHONE, shoot

pytestmark = pytest.mark.browser
PASSWORD = "ett långt lösenord 42"


def test_acknowledge_and_resolve_on_the_alerts_page(
    browser: Any, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        env={"KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": 0}})},
    ).start()
    proc.post("/api/v1/sites", {"id": "vattenverket", "name": "Vattenverket"})
    proc.post("/api/v1/sites", {"id": "skola", "name": "Skolan"})
    for dev, site in (("tb-7", "vattenverket"), ("tb-8", "skola")):
        proc.post(
            "/api/v1/devices",
            {"id": dev, "type": "technical_shed_temperature", "name": f"Bod {dev}",
             "site_id": site, "place": "Pumprum"},
        )  # fmt: skip
        proc.publish(f"kv/{dev}/up", {"values": {"temperature": 31.5}})
    wait_for(lambda: len(proc.get("/api/v1/alerts", state="active")) == 2, what="two alerts")
    (mine,) = proc.get("/api/v1/alerts", site_id="vattenverket")
    proc.post(
        "/api/v1/users",
        {"username": "anna", "role": "facility_staff", "password": PASSWORD,
         "sites": ["vattenverket"]},
    )  # fmt: skip

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{proc.base_url}/login?next=/alerts")
        page.fill("#username", "anna")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{proc.base_url}/alerts")
        rows = page.locator("tr[data-alert-id]")
        assert rows.count() == 1  # the other site's alert is not hers to see
        row = page.locator(f"tr[data-alert-id='{mine['id']}']")
        assert row.get_attribute("data-state") == "active"
        assert "Bod tb-7" in row.inner_text()
        assert "31,5" in row.inner_text()
        # what is wrong, and what to do about it
        advice = row.locator(".advice").inner_text()
        assert advice.startswith("Gör så här:"), advice
        assert "ventilation" in advice
        assert serious_violations(page) == []
        shoot(page, "alerts-active-phone")
        assert page.locator("link[rel=icon]").count() == 1  # no 404 for /favicon.ico
        page.goto(f"{proc.base_url}/")
        assert page.locator("#devices a[href='/devices/tb-7']").inner_text() == "Bod tb-7"
        page.set_viewport_size(DESKTOP)
        # the site by its name, as in the navigation's "Platser", not its id
        where = page.locator("#devices tr[data-device-id='tb-7'] td").nth(2).inner_text()
        assert where == "Vattenverket · Pumprum"
        page.set_viewport_size(PHONE)
        assert serious_violations(page) == []
        page.goto(f"{proc.base_url}/alerts")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        row.locator("button[name=ack]").click()
        page.wait_for_selector(f"tr[data-alert-id='{mine['id']}'][data-state='acknowledged']")
        row = page.locator(f"tr[data-alert-id='{mine['id']}']").first
        assert "anna" in row.inner_text()

        row.locator("input[name=note]").fill("dörren till boden stängd, fläkt omstartad")
        row.locator("button[name=resolve]").click()
        page.wait_for_selector(f"tr[data-alert-id='{mine['id']}'][data-state='resolved']")
        assert page.locator("tr[data-alert-id][data-state='active']").count() == 0
    finally:
        page.close()

    history = proc.get(f"/api/v1/alerts/{mine['id']}/history")
    assert [(h["kind"], h["actor"]) for h in history] == [
        ("fire", "system"),
        ("acknowledge", "anna"),
        ("resolve", "anna"),
    ]
    assert history[-1]["note"] == "dörren till boden stängd, fläkt omstartad"
    (other,) = proc.get("/api/v1/alerts", site_id="skola")
    assert other["state"] == "active"


def test_a_resolved_alert_shows_its_worst_value_and_who_did_what(
    browser: Any, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        env={"KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": 0}})},
    ).start()
    proc.post("/api/v1/sites", {"id": "vattenverket", "name": "Vattenverket"})
    proc.post(
        "/api/v1/devices",
        {"id": "tb-7", "type": "technical_shed_temperature", "name": "Bod 7",
         "site_id": "vattenverket", "place": "Pumprum"},
    )  # fmt: skip
    start = datetime.now(UTC) - timedelta(minutes=5)
    proc.publish("kv/tb-7/up", {"time": start.isoformat(), "values": {"temperature": 31.5}})
    wait_for(lambda: len(proc.get("/api/v1/alerts", state="active")) == 1, what="an alert")
    (alert,) = proc.get("/api/v1/alerts", state="active")
    proc.post(f"/api/v1/alerts/{alert['id']}/ack", {})
    proc.publish_all(
        [
            ("kv/tb-7/up", {"time": (start + timedelta(minutes=1)).isoformat(),
                            "values": {"temperature": 34.0}}),
            ("kv/tb-7/up", {"time": (start + timedelta(minutes=2)).isoformat(),
                            "values": {"temperature": 22.0}}),
        ]
    )  # fmt: skip
    wait_for(lambda: len(proc.get("/api/v1/alerts", state="resolved")) == 1, what="resolved")
    proc.post(
        "/api/v1/users",
        {"username": "anna", "role": "facility_staff", "password": PASSWORD,
         "sites": ["vattenverket"]},
    )  # fmt: skip

    for name, size in (("alerts-resolved-phone", PHONE), ("alerts-resolved-desktop", DESKTOP)):
        page = browser.new_page(viewport=size)
        try:
            page.goto(f"{proc.base_url}/login?next=/alerts")
            page.fill("#username", "anna")
            page.fill("#password", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(f"{proc.base_url}/alerts")
            row = page.locator(f"tr[data-alert-id='{alert['id']}'][data-state='resolved']")
            text = row.inner_text()
            # the worst of the period, not the value that ended it
            assert "högst 34 °C" in text, text
            assert "22 °C" not in text, text
            # resolved by the system, acknowledged by a person: two facts, not "Återställt admin"
            assert row.locator(".resolved-by").inner_text() == "automatiskt"
            assert row.locator(".acked-by").inner_text() == "Kvitterat av admin"
            # one time per row
            assert text.lower().count("sedan") <= 1, text
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert serious_violations(page) == []
            # the filters' dropdowns are as easy to hit as the button beside them
            for select in page.locator("form.filters select").all():
                box = select.bounding_box()
                assert box is not None
                assert box["height"] >= 44, box
            row.scroll_into_view_if_needed()
            shoot(page, name)
        finally:
            page.close()
