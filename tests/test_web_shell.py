"""The web shell in headless Chromium: sign in, see devices and active alerts, switch language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import wait_for

pytestmark = pytest.mark.browser
PASSWORD = "ett långt lösenord 42"


def test_start_page_on_a_phone(browser: Any, platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        env={"KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": 0}})},
    ).start()
    proc.post(
        "/api/v1/devices",
        {"id": "teknikbod-9", "type": "technical_shed_temperature", "name": "Teknikbod 9"},
    )
    proc.publish("kv/teknikbod-9/up", {"values": {"temperature": 27.5}})
    wait_for(lambda: proc.get("/api/v1/alerts", state="active"), what="warning alert")

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{proc.base_url}/")
        assert page.url.startswith(f"{proc.base_url}/login")
        # issue 7: users sign in with username + password (a user made through the API)
        proc.post("/api/v1/users", {"username": "tekniker", "role": "admin", "password": PASSWORD})
        page.fill("#username", "tekniker")
        page.fill("#password", "fel lösenord")
        page.click("#login-form button[type=submit]")
        assert page.locator("[role=alert]").inner_text().startswith("Inloggningen misslyckades")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{proc.base_url}/")
        assert page.locator("html").get_attribute("lang") == "sv"
        device_row = page.locator("tr[data-device-id='teknikbod-9']")
        assert "Teknikbod 9" in device_row.inner_text()
        assert device_row.locator(".metric").inner_text() == "Temperatur: 27,5 °C"
        alert_row = page.locator("#active-alerts tr[data-alert-id]")
        assert alert_row.count() == 1
        assert "Varning" in alert_row.inner_text()
        # nothing wider than the phone's screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "start-sv.png"))

        page.click("text=Language: English")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Warning" in page.locator("#active-alerts tr[data-alert-id]").inner_text()
        assert page.locator("tr[data-device-id='teknikbod-9'] .metric").inner_text() == (
            "Temperature: 27.5 °C"
        )
    finally:
        page.close()
