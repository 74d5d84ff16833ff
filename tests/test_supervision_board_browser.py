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
from tests.support.a11y import serious_violations
from tests.support.clock import ShiftedClock
from tests.support.net import free_port, wait_port
from tests.support.platform import TOKEN
from tests.support.shots import DESKTOP, PHONE, shoot

pytestmark = pytest.mark.browser

STHLM = ZoneInfo("Europe/Stockholm")
PASSWORD = "nattpatrull med långt lösenord"
API = "/api/v1/supervision"


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
        page.click(f"#res-{first} button.a-visit")
        page.fill("#sv-dlg-note", "hjälpt upp, inga skador")
        page.click("#sv-dlg-ok")
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
        page.goto(f"{base}/login")
        assert serious_violations(page) == []
        _sign_in_plain(page, base, "natt-anna")
        assert page.url.startswith(f"{base}/supervision"), page.url
        assert "Björkgården natt" in page.locator("h1").inner_text()
        assert "Inga aktiva larm" not in page.content()
        assert serious_violations(page) == []
        page.set_viewport_size(DESKTOP)
        assert serious_violations(page) == []
        # the overview stays one tap away, without a devices list that is not theirs
        page.goto(f"{base}/")
        assert "Inga enheter registrerade" not in page.content()
        page.goto(f"{base}/?lang=en")  # the English UI says it in English
        assert page.locator("header a[href='/supervision']").inner_text() == "Night checks"
        page.context.clear_cookies()
        # facility staff: the overview of their buildings
        _sign_in_plain(page, base, "fast-fia")
        assert page.url == f"{base}/", page.url
        assert serious_violations(page) == []
        page.set_viewport_size(PHONE)
        assert serious_violations(page) == []
        shoot(page, "start-phone")
    finally:
        page.close()


def _resident(api: TestClient, label: str, unit: str, times: list[str], night: Any) -> str:
    rid: str = api.post(f"{API}/residents", json={"label": label, "care_unit_id": unit}).json()[
        "id"
    ]
    api.post(
        f"{API}/residents/{rid}/consents",
        json={"party": "resident", "scope": ["camera"], "given_on": "2026-01-01"},
    )
    r = api.post(
        f"{API}/residents/{rid}/schedules",
        json={"method": "camera", "times": times, "valid_from": night.isoformat()},
    )
    assert r.status_code == 201, r.text
    return rid


def _statuses(page: Any, rid: str) -> list[str]:
    return [c.get_attribute("data-status") or "" for c in page.locator(f"#res-{rid} .chk").all()]


def test_declining_asks_says_what_it_skips_and_can_be_undone(
    browser: Any, served: dict[str, Any]
) -> None:
    api: TestClient = served["api"]
    platform: Platform = served["platform"]
    base = served["base"]
    assert (
        api.post(
            "/api/v1/care-units", json={"id": "natt-a", "name": "Björkgården natt"}
        ).status_code
        == 201
    )
    platform.users.add(
        "natt-anna", "night_staff", datetime.now(UTC), password=PASSWORD, care_units=["natt-a"]
    )
    rid = _resident(api, "Lgh 12B, A.K.", "natt-a", ["02:00", "04:00"], served["night"])
    page = browser.new_page(viewport=PHONE)
    try:
        _sign_in(page, base, "natt-anna", "/supervision")
        page.wait_for_selector(f"#res-{rid} .chk[data-status=scheduled] >> nth=1")
        skip = page.locator(f"#res-{rid} .chk").first.locator("button.a-skipped")
        assert "Avböjer i natt" in skip.inner_text()

        # one tap does not remove a check: a dialog says what would be skipped
        skip.click()
        dialog = page.locator("#sv-dlg")
        assert dialog.is_visible()
        text = dialog.inner_text()
        assert "Alla planerade i natt: 02:00, 04:00" in text
        assert "Bara tillsynen 02:00" in text
        assert page.locator("#sv-skip-night").is_checked()  # "tonight" means the night
        assert serious_violations(page) == []
        shoot(page, "night-board-decline-phone")
        page.click("#sv-dlg-cancel")
        assert not dialog.is_visible()
        assert _statuses(page, rid) == ["scheduled", "scheduled"]

        # only the 02:00 check, then taken back with the undo on the board
        skip.click()
        page.check("#sv-skip-one")
        page.click("#sv-dlg-ok")
        page.wait_for_selector(f"#res-{rid} .chk[data-status=skipped_by_resident]")
        assert _statuses(page, rid) == ["skipped_by_resident", "scheduled"]
        undo = page.locator(f"#res-{rid} button.a-undo_skip")
        assert undo.inner_text() == "Ångra avböjd"
        assert serious_violations(page) == []
        shoot(page, "night-board-undo-phone")
        undo.click()
        page.wait_for_function(
            f"document.querySelectorAll('#res-{rid} .chk[data-status=scheduled]').length == 2"
        )
        assert page.locator(f"#res-{rid} button.a-undo_skip").count() == 0

        # the whole night, as the button says
        page.locator(f"#res-{rid} .chk").first.locator("button.a-skipped").click()
        page.click("#sv-dlg-ok")
        page.wait_for_function(
            f"document.querySelectorAll('#res-{rid} .chk[data-status=skipped_by_resident]')"
            ".length == 2"
        )
        # taken back, 04:00 first: the history must still read newest first across checks
        for nth in (1, 0):
            page.locator(f"#res-{rid} .chk").nth(nth).locator("button.a-undo_skip").click()
            page.wait_for_function(
                f"document.querySelectorAll('#res-{rid} .chk')[{nth}].dataset.status == 'scheduled'"
            )
        page.goto(f"{base}/supervision/residents/{rid}")
        rows = page.locator("tbody tr").all()
        ats = [datetime.fromisoformat(r.get_attribute("data-at") or "") for r in rows]
        assert ats == sorted(ats, reverse=True)
        assert [r.locator("td").nth(1).inner_text() for r in rows[:2]] == ["02:00", "04:00"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shoot(page, "resident-history-phone")
    finally:
        page.close()
    history = api.get(f"{API}/residents/{rid}/history").json()["transitions"]
    pairs = [(h["from"], h["to"], h["actor"]) for h in history]
    assert ("skipped_by_resident", "scheduled", "natt-anna") in pairs  # the undo is on record


def test_a_call_closes_a_phone_escalation_and_cancel_keeps_nothing(
    browser: Any, served: dict[str, Any]
) -> None:
    api: TestClient = served["api"]
    platform: Platform = served["platform"]
    base = served["base"]
    assert (
        api.post(
            "/api/v1/care-units", json={"id": "natt-a", "name": "Björkgården natt"}
        ).status_code
        == 201
    )
    platform.users.add(
        "natt-anna", "night_staff", datetime.now(UTC), password=PASSWORD, care_units=["natt-a"]
    )
    rid = _resident(api, "Lgh 3, B.E.", "natt-a", ["02:00"], served["night"])
    page = browser.new_page(viewport=PHONE)
    try:
        _sign_in(page, base, "natt-anna", "/supervision")
        check = page.locator(f"#res-{rid} .chk").first
        check_id = check.get_attribute("data-check")
        r = api.post(f"{API}/checks/{check_id}/outcome", json={"outcome": "abnormal"})
        assert r.status_code == 200, r.text
        page.wait_for_selector(f"#res-{rid} .chk[data-status=escalated]")
        assert "Eskalerad: ring" in check.inner_text()
        buttons = [b.inner_text() for b in check.locator("button").all()]
        assert buttons == ["Ringt – OK", "Besök gjort"]

        # Cancel says that nothing is saved, and nothing is
        check.locator("button.a-phoned").click()
        assert "inget sparas" in page.locator("#sv-dlg-cancel").inner_text()
        page.fill("#sv-dlg-note", "skrivet men avbrutet")
        assert serious_violations(page) == []
        shoot(page, "night-board-note-phone")
        page.click("#sv-dlg-cancel")
        assert check.get_attribute("data-status") == "escalated"

        check.locator("button.a-phoned").click()
        assert page.locator("#sv-dlg-note").input_value() == ""
        page.fill("#sv-dlg-note", "svarade, mår bra")
        page.click("#sv-dlg-ok")
        page.wait_for_selector(f"#res-{rid} .chk[data-status=resolved]")
        page.set_viewport_size(DESKTOP)
        assert serious_violations(page) == []
        shoot(page, "night-board-desktop")
        # the history: newest first across checks, each row naming its check's time
        page.goto(f"{base}/supervision/residents/{rid}")
        rows = page.locator("tbody tr").all()
        ats = [datetime.fromisoformat(r.get_attribute("data-at") or "") for r in rows]
        assert ats == sorted(ats, reverse=True)
        assert rows[0].locator("td").nth(1).inner_text() == "02:00"
        assert rows[0].locator("td.actor").inner_text() == "natt-anna"
        actors = {r.locator("td.actor").inner_text() for r in rows}
        assert "system" not in actors
        assert serious_violations(page) == []
        page.set_viewport_size(PHONE)
        assert serious_violations(page) == []
    finally:
        page.close()
    last = api.get(f"{API}/residents/{rid}/history").json()["transitions"][-1]
    assert (last["to"], last["actor"], last["note"]) == (
        "resolved",
        "natt-anna",
        "ringt: svarade, mår bra",
    )


def test_the_start_page_updates_in_place_without_a_meta_refresh(
    browser: Any, served: dict[str, Any]
) -> None:
    platform: Platform = served["platform"]
    base = served["base"]
    platform.users.add("chef", "admin", datetime.now(UTC), password=PASSWORD)
    page = browser.new_page(viewport=PHONE)
    try:
        _sign_in_plain(page, base, "chef")
        assert page.locator("h1").inner_text() == "Översikt"
        assert page.locator("meta[http-equiv=refresh]").count() == 0
        page.evaluate("window.__notReloaded = true")
        platform.alerts.fire(
            "frys-9", "freezer_too_warm", "critical", datetime.now(UTC),
            metric="temperature", value=-12.0, threshold=-18.0,
        )  # fmt: skip
        platform.alerts.fire(
            "kyl-9", "fridge_too_warm", "warning", datetime.now(UTC),
            metric="temperature", value=9.0, threshold=8.0,
        )  # fmt: skip
        page.wait_for_selector("#active-alerts tr[data-alert-id] >> nth=1", timeout=25_000)
        assert page.evaluate("window.__notReloaded") is True
        # "Varning" in its colour is readable (WCAG 1.4.3, 4.5:1), at both sizes
        assert serious_violations(page) == []
        page.set_viewport_size(DESKTOP)
        assert serious_violations(page) == []
        shoot(page, "start-desktop")
    finally:
        page.close()


def test_night_alerts_read_cleanly_on_the_alert_pages_most_urgent_first(
    browser: Any, served: dict[str, Any]
) -> None:
    api: TestClient = served["api"]
    platform: Platform = served["platform"]
    base = served["base"]
    body = {"id": "natt-a", "name": "Björkgården natt"}
    assert api.post("/api/v1/care-units", json=body).status_code == 201
    platform.users.add("chef", "admin", datetime.now(UTC), password=PASSWORD)
    rid = _resident(api, "Lgh 5, C.D.", "natt-a", ["02:00"], served["night"])
    platform.supervision.materialise(served["night"], served["clock"]())
    (check,) = platform.supervision.checks.of_resident(rid)
    r = api.post(f"{API}/checks/{check.id}/outcome", json={"outcome": "abnormal"})
    assert r.status_code == 200, r.text
    (night,) = platform.alerts.list(origin="external", limit=5)
    now = datetime.now(UTC)
    # a newer warning: by time alone it would come first
    for dev, site, rule in (("kyl-9", "skolan", "fridge_too_warm"),
                            ("frys-1", "skolan", "freezer_too_warm"),
                            ("frys-2", "vattenverket", "freezer_too_warm")):  # fmt: skip
        platform.alerts.fire(dev, rule, "warning", now, metric="temperature", value=9.0,
                             threshold=8.0, site_id=site)  # fmt: skip
    for dev, rule in (("frys-1", "freezer_too_warm"), ("frys-2", "freezer_too_warm")):
        platform.alerts.resolve(dev, rule, 4.0, now + timedelta(seconds=1))
    page = browser.new_page(viewport=PHONE)
    try:
        _sign_in(page, base, "chef", "/alerts")
        rows = page.locator("section.card").first.locator("tr[data-alert-id]")
        assert rows.first.get_attribute("data-alert-id") == str(night.id)  # critical first
        text = rows.first.inner_text()
        assert "Björkgården natt" in text
        assert "natt-a" not in text
        assert "http" not in text
        link = rows.first.locator("a.board-link")
        assert link.get_attribute("href") == f"/supervision?unit=natt-a#check-{check.id}"
        assert serious_violations(page) == []
        shoot(page, "alerts-night-phone")
        # the site filter applies to the recent alerts too
        page.goto(f"{base}/alerts?state=open&site_id=skolan")
        recent = page.locator("section.card", has_text="Senaste larm").locator("tr")
        assert recent.count() == 1
        assert "frys-2" not in page.content()
        page.goto(f"{base}/")
        first = page.locator("#active-alerts tr[data-alert-id]").first
        assert first.get_attribute("data-alert-id") == str(night.id)
        assert "http" not in first.inner_text()
    finally:
        page.close()
