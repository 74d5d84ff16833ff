"""The night board in headless Chromium on a phone: dark, large, Swedish, live without reload,
and an outcome recorded from it. A user of another care unit is refused, and that is on record.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from supervision.schedule import instant, night_of
from tests.support.net import free_port, wait_port
from tests.support.platform import TOKEN

pytestmark = pytest.mark.browser

STHLM = ZoneInfo("Europe/Stockholm")
PASSWORD = "nattpatrull med långt lösenord"
API = "/api/v1/supervision"


class ShiftedClock:
    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    night = night_of(datetime.now(UTC), STHLM)
    due = instant(night + timedelta(days=1), time(2, 0), STHLM)
    clock = ShiftedClock(due - timedelta(minutes=10))
    port = free_port()
    settings = load_settings(
        data_dir=tmp_path / "data",
        admin_token=TOKEN,
        api_port=port,
        supervision={"grace_minutes": 0.05, "early_minutes": 0, "board_poll_s": 0.5},
    )
    platform = Platform(settings, clock=clock)
    platform.start(mqtt=False)
    app = create_app(platform)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_port(port)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            yield {"platform": platform, "api": api, "clock": clock, "due": due,
                   "night": night, "base": f"http://127.0.0.1:{port}"}  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(10)
        platform.stop()


def _sign_in(page: Any, base: str, user: str, then: str) -> None:
    page.goto(f"{base}{then}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}{then}*")


def test_board_on_a_phone_shows_a_deviation_live(
    browser: Any, served: dict[str, Any], tmp_path: Path
) -> None:
    api: TestClient = served["api"]
    platform: Platform = served["platform"]
    base = served["base"]
    for unit in ("natt-a", "natt-b"):
        assert api.post("/api/v1/care-units", json={"id": unit, "name": unit}).status_code == 201
    now = datetime.now(UTC)
    platform.users.add("natt-anna", "night_staff", now, password=PASSWORD, care_units=["natt-a"])
    platform.users.add("natt-bo", "night_staff", now, password=PASSWORD, care_units=["natt-b"])
    residents = {}
    for label, times in (("Lgh 12B, A.K.", ["02:00"]), ("Lgh 14, M.N.", ["02:30"])):
        rid = api.post(f"{API}/residents", json={"label": label, "care_unit_id": "natt-a"}).json()[
            "id"
        ]
        api.post(
            f"{API}/residents/{rid}/consents",
            json={"party": "resident", "scope": ["camera"], "given_on": "2026-01-01"},
        )
        r = api.post(
            f"{API}/residents/{rid}/schedules",
            json={"method": "camera", "times": times, "valid_from": served["night"].isoformat()},
        )
        assert r.status_code == 201, r.text
        residents[label] = rid
    first = residents["Lgh 12B, A.K."]

    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        _sign_in(page, base, "natt-anna", "/supervision")
        assert page.locator("html").get_attribute("lang") == "sv"
        assert page.locator("header a[href='/supervision']").inner_text() == "Nattillsyn"
        row = page.locator(f"#res-{first}")
        assert row.get_attribute("data-group") == "upcoming"
        assert "02:00" in row.inner_text()
        assert "Planerad" in row.inner_text()
        # dark and large: for a phone at arm's length in a dark bedroom corridor
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert bg == "rgb(5, 8, 12)"
        assert float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")) >= 18
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.evaluate("window.__notReloaded = true")

        # 02:00 passes and nobody looks: the check is missed and moves to the top, live
        served["clock"].jump_to(served["due"] + timedelta(seconds=1))
        page.wait_for_selector(f"#res-{first}[data-group=deviation]", timeout=40_000)
        assert page.evaluate("window.__notReloaded") is True
        first_group = page.locator("article.res").first
        assert first_group.get_attribute("data-resident") == first
        assert "Missad" in page.locator(f"#res-{first}").inner_text()
        assert page.locator("h2.grp").first.inner_text().upper() == "AVVIKELSER"
        page.screenshot(path=str(tmp_path / "board-deviation.png"))

        # the night staff goes there and records the visit from the board
        page.once("dialog", lambda dialog: dialog.accept("hjälpt upp, inga skador"))
        page.click(f"#res-{first} button.a-visit")
        page.wait_for_selector(f"#res-{first} .chk[data-status=resolved]")
        assert "Åtgärdad" in page.locator(f"#res-{first}").inner_text()
        history = api.get(f"{API}/residents/{first}/history").json()["transitions"]
        assert history[-1]["actor"] == "natt-anna"
        assert history[-1]["to"] == "resolved"
        assert history[-1]["note"] == "hjälpt upp, inga skador"
        alerts = platform.alerts.list(rule="supervision_missed", origin="external", limit=5)
        assert [a.state for a in alerts] == ["resolved"]

        # the session is ended elsewhere (signed out, account disabled): the open board stops
        # receiving care data and says so
        page.wait_for_selector("#sv-live:not(.lost)")
        page.evaluate("window.__notReloaded = true")  # the visit's form post loaded the page
        api.app.state.web_sessions.drop_user("natt-anna")  # type: ignore[attr-defined]
        page.wait_for_selector("#sv-live.lost", timeout=15_000)
        assert page.evaluate("window.__notReloaded") is True
    finally:
        page.close()

    # a user of unit B is refused unit A's board, and the attempt is on record
    other = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        _sign_in(other, base, "natt-bo", "/supervision")
        response = other.goto(f"{base}/supervision?unit=natt-a")
        assert response is not None
        assert response.status == 403
        assert "Lgh 12B" not in other.content()
    finally:
        other.close()
    denied = [
        e
        for e in platform.audit.entries(actor="natt-bo")
        if e.action == "supervision.board.view" and e.outcome == "denied"
    ]
    assert denied
    assert denied[0].target_id == "natt-a"
    views = platform.audit.entries(actor="natt-anna", action="supervision.board.view")
    assert views
    assert first in (views[0].details or "")


def _sign_in_plain(page: Any, base: str, user: str) -> None:
    """Sign in from the sign-in page itself, with no page asked for: where does one land?"""
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def test_each_role_lands_where_its_work_is(browser: Any, served: dict[str, Any]) -> None:
    api: TestClient = served["api"]
    platform: Platform = served["platform"]
    base = served["base"]
    body = {"id": "natt-a", "name": "Björkgården natt"}
    assert api.post("/api/v1/care-units", json=body).status_code == 201
    now = datetime.now(UTC)
    platform.users.add("natt-anna", "night_staff", now, password=PASSWORD, care_units=["natt-a"])
    platform.users.add("fast-fia", "facility_staff", now, password=PASSWORD)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        # night staff: their unit's board, not a start page that says there are no alerts
        _sign_in_plain(page, base, "natt-anna")
        assert page.url.startswith(f"{base}/supervision"), page.url
        assert "Björkgården natt" in page.locator("h1").inner_text()
        assert "Inga aktiva larm" not in page.content()
        page.context.clear_cookies()
        # facility staff: the overview of their buildings
        _sign_in_plain(page, base, "fast-fia")
        assert page.url == f"{base}/", page.url
    finally:
        page.close()
