"""A technician servicing a freezer pauses its notifications from the device page on a phone,
and a whole kitchen's from the site page (issue 5: "a technician servicing a freezer does not
page the kitchen"): while paused a leak is recorded as an alert but nobody is notified; after
"end the pause" the next one is.
Headless Chromium, the platform as a process, a real HTTP receiver for the notifications."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.alert_sinks import JsonSink
from tests.support.net import wait_for

pytestmark = pytest.mark.browser
PASSWORD = "ett långt lösenord 42"


@pytest.fixture
def sink() -> Iterator[JsonSink]:
    server = JsonSink().start()
    yield server
    server.stop()


def test_pause_a_device_from_its_page_and_end_the_pause(
    browser: Any, platform_factory: Any, tmp_path: Path, sink: JsonSink
) -> None:
    proc = platform_factory(
        tmp_path / "kv", env={"KOMMUNVAKT_NOTIFY_URLS": json.dumps([sink.url("/jour")])}
    ).start()
    for site in ("kok", "skola"):
        proc.post("/api/v1/sites", {"id": site, "name": site.capitalize()})
    for dev, site in (("leak-1", "kok"), ("leak-2", "skola")):
        body = {"id": dev, "type": "water_leak", "name": f"Läcka {dev}", "site_id": site}
        proc.post("/api/v1/devices", body)
    proc.post(
        "/api/v1/users",
        {"username": "tekla", "role": "technician", "password": PASSWORD, "sites": ["kok"]},
    )

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{proc.base_url}/login?next=/devices/leak-1")
        page.fill("#username", "tekla")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{proc.base_url}/devices/leak-1")
        assert page.locator("#silences li[data-silence-id]").count() == 0
        page.select_option("#silence-form select[name=hours]", "4")
        page.fill("#silence-form input[name=reason]", "byter packning")
        page.click("#silence-form button[name=silence]")
        page.wait_for_selector("#silences li[data-silence-id]")
        item = page.locator("#silences li[data-silence-id]")
        assert "byter packning" in item.inner_text()
        assert "tekla" in item.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        # paused: the leak is an alert on record, but no notification goes out
        proc.publish("kv/leak-1/up", {"values": {"water_leak": True}})
        wait_for(lambda: proc.get("/api/v1/alerts", device_id="leak-1"), what="leak alert")
        time.sleep(2)  # what the notifier would need to send it (it sends within ~0.1 s)
        assert sink.at("/jour") == []

        # another site's device: no pause form to reach, and the route refuses
        csrf = page.locator("#silence-form input[name=csrf_token]").get_attribute("value")
        form = {"hours": "2", "csrf_token": csrf or ""}
        own = page.request.post(
            f"{proc.base_url}/devices/leak-1/silence", form=form, max_redirects=0
        )
        assert own.status == 303  # the same request for her own device is taken...
        other = page.request.post(f"{proc.base_url}/devices/leak-2/silence", form=form)
        assert other.status == 403  # ...and refused for another site's
        assert all(s["target"] != "leak-2" for s in proc.get("/api/v1/silences"))
        page.reload()
        assert page.locator("#silences li[data-silence-id]").count() == 2

        for _ in range(2):
            page.locator("#silences button[name=end]").first.click()
            page.wait_for_load_state()
        assert page.locator("#silences li[data-silence-id]").count() == 0
        proc.publish("kv/leak-1/up", {"values": {"water_leak": False}})
        proc.publish("kv/leak-1/up", {"values": {"water_leak": True}})
        wait_for(lambda: sink.at("/jour"), timeout=20, what="a notification after the pause")

        # the whole site (every freezer of the kitchen defrosted at once), from the site page
        page.goto(f"{proc.base_url}/sites/kok")
        page.select_option("#silence-form select[name=hours]", "1")
        page.fill("#silence-form input[name=reason]", "avfrostning")
        page.click("#silence-form button[name=silence]")
        page.wait_for_selector("#silences li[data-silence-id]")
        page.goto(f"{proc.base_url}/devices/leak-1")
        listed = page.locator("#silences li[data-silence-id]")
        assert "avfrostning" in listed.inner_text()
        assert listed.locator("button[name=end]").count() == 0  # ended where it was made
        sent = len(sink.at("/jour"))
        proc.publish("kv/leak-1/up", {"values": {"water_leak": False}})
        proc.publish("kv/leak-1/up", {"values": {"water_leak": True}})
        wait_for(
            lambda: len(proc.get("/api/v1/alerts", device_id="leak-1")) >= 3, what="third leak"
        )
        time.sleep(2)
        assert len(sink.at("/jour")) == sent
        page.goto(f"{proc.base_url}/sites/kok")
        page.locator("#silences button[name=end]").click()
        page.wait_for_load_state()
        assert page.locator("#silences li[data-silence-id]").count() == 0
    finally:
        page.close()

    audit = proc.get("/api/v1/audit")
    acts = [(e["actor"], e["action"]) for e in audit if e["target_id"] == "leak-1"]
    assert ("tekla", "silence.create") in acts
    assert ("tekla", "silence.end") in acts
    on_site = [(e["actor"], e["action"]) for e in audit if e["target_id"] == "kok"]
    assert on_site == [("tekla", "silence.create"), ("tekla", "silence.end")]
