"""``/devices`` in Chromium on a phone-sized screen: a technician registers a device, claims
one the gateway heard, searches, and sees health at a glance."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.net import wait_for

pytestmark = pytest.mark.browser

PASSWORD = "tekniker på plats i boden 7"


def publish_unregistered(port: int, topic: str, body: dict[str, Any]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"devices-page-{port}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, json.dumps(body), qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_register_and_claim_on_a_phone(browser: Any, platform_factory: Any, tmp_path: Path) -> None:
    # A device nobody registered has no login, and the embedded broker lets no one in without
    # one; claiming is about what the gateway heard, so this lab opens the broker explicitly.
    proc = platform_factory(
        tmp_path / "kv", env={"KOMMUNVAKT_MQTT_ALLOW_ANONYMOUS": "true"}
    ).start()
    proc.post("/api/v1/sites", {"id": "norra", "name": "Norra skolan"})
    proc.post(
        "/api/v1/users",
        {"username": "tekniker", "role": "technician", "password": PASSWORD, "sites": ["norra"]},
    )
    now = datetime.now(UTC).isoformat()
    publish_unregistered(
        proc.mqtt_port,
        "kv/lacka-42/up",
        {"time": now, "values": {"water_leak": False, "battery": 77}},
    )
    wait_for(lambda: proc.get("/api/v1/unknown-devices"), what="the unknown device is heard")

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{proc.base_url}/login?next=/devices")
        page.fill("#username", "tekniker")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{proc.base_url}/devices")
        assert page.locator("header a[href='/devices']").count() == 1
        assert "Enheter" in page.locator("h1").inner_text()
        # the phone does not scroll sideways
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        # register: a freezer in the school kitchen
        form = page.locator("#register form")
        form.locator("input[name=id]").fill("frys-kok-1")
        form.locator("select[name=type]").select_option("freezer")
        form.locator("input[name=name]").fill("Frys kök 1")
        form.locator("select[name=site_id]").select_option("norra")
        form.locator("input[name=place]").fill("Kök")
        form.locator("input[name=ref]").fill("zigbee2mqtt:Frys kök 1")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#notice")
        assert "frys-kok-1 är registrerad" in page.locator("#notice").inner_text()
        row = page.locator("tr[data-device-id='frys-kok-1']")
        assert row.get_attribute("data-health") == "never_seen"
        assert "aldrig hörd" in row.inner_text()

        # a duplicate ref is refused with the reason, nothing is lost from the form's page
        form = page.locator("#register form")
        form.locator("input[name=id]").fill("frys-kok-2")
        form.locator("select[name=type]").select_option("freezer")
        form.locator("input[name=ref]").fill("zigbee2mqtt:Frys kök 1")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#error")
        # in the page's language, not the registry's English
        assert "hör redan till enheten frys-kok-1" in page.locator("#error").inner_text()

        form = page.locator("#register form")
        form.locator("input[name=id]").fill("frys-kok-1")
        form.locator("select[name=type]").select_option("freezer")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#error")
        assert "det finns redan en enhet med id frys-kok-1" in page.locator("#error").inner_text()

        # claim the leak sensor the gateway heard
        unknown = page.locator(".unknown[data-ref='lacka-42']")
        # its payload may come from any site: shown to every-site users only (docs/access.md)
        assert "water_leak" not in unknown.inner_text()
        unknown.locator("select[name=type]").select_option("water_leak")
        unknown.locator("select[name=site_id]").select_option("norra")
        unknown.locator("input[name=place]").fill("Diskrum")
        unknown.locator("button[type=submit]").click()
        page.wait_for_selector("#notice")
        assert "lacka-42 är tagen i bruk; 2 mätvärden" in page.locator("#notice").inner_text()
        assert page.locator(".unknown").count() == 0
        claimed = page.locator("tr[data-device-id='lacka-42']")
        assert claimed.get_attribute("data-health") == "online"
        assert "77 %" in claimed.inner_text()

        # search and the health filter
        page.fill("#q", "diskrum")
        page.click("form[role=search] button[type=submit]")
        page.wait_for_url("**/devices?q=diskrum*")
        assert page.locator("tbody tr").count() == 1
        with page.expect_download() as download:
            page.click("a[href='/api/v1/devices/export']")
        exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert exported.splitlines()[0].startswith("id;type;name;site_id")
        assert "lacka-42;water_leak" in exported
        page.goto(f"{proc.base_url}/devices?health=never_seen")
        ids = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.deviceId)")
        assert ids == ["frys-kok-1"]
    finally:
        page.close()
    device = proc.get("/api/v1/devices/lacka-42")
    assert (device["site_id"], device["place"], device["installed_by"]) == (
        "norra",
        "Diskrum",
        "tekniker",
    )
