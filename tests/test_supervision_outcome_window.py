"""A check is closed by a person only inside its window (from ``early_minutes`` before its time
to the end of its grace), or with a stated reason that the night board shows: nobody records
"ok" at 18:00 for the 02:00 look and goes home."""

from __future__ import annotations

import re
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
from tests.support.clock import ShiftedClock
from tests.support.net import free_port, wait_port
from tests.support.platform import TOKEN

STHLM = ZoneInfo("Europe/Stockholm")
API = "/api/v1/supervision"
PASSWORD = "nattpatrull med långt lösenord"
REASON = "sover redan, sagt godnatt kl 22"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    night = night_of(datetime.now(UTC), STHLM)
    due = instant(night + timedelta(days=1), time(2, 0), STHLM)
    clock = ShiftedClock(due - timedelta(hours=8))
    port = free_port()
    settings = load_settings(
        data_dir=tmp_path / "data", admin_token=TOKEN, api_port=port,
        supervision={"grace_minutes": 15, "early_minutes": 10, "board_poll_s": 0.5},
    )  # fmt: skip
    platform = Platform(settings, clock=clock)
    platform.start(mqtt=False)
    app = create_app(platform)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_port(port)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            assert api.post("/api/v1/care-units", json={"id": "natt-a", "name": "A"}).is_success
            rid = api.post(
                f"{API}/residents", json={"label": "Rum 12, A.K.", "care_unit_id": "natt-a"}
            ).json()["id"]
            api.post(
                f"{API}/residents/{rid}/consents",
                json={"party": "resident", "scope": ["camera"], "given_on": "2026-01-01"},
            )
            made = api.post(
                f"{API}/residents/{rid}/schedules",
                json={"method": "camera", "times": ["02:00", "04:00"],
                      "valid_from": night.isoformat()},
            )  # fmt: skip
            assert made.status_code == 201, made.text
            yield {"platform": platform, "api": api, "clock": clock, "due": due,
                   "base": f"http://127.0.0.1:{port}", "resident": rid}  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(10)
        platform.stop()


def _checks(api: TestClient) -> list[dict[str, Any]]:
    rows = api.get(f"{API}/units/natt-a/board").json()["rows"]
    return [c for row in rows for c in row["checks"]]


def test_an_outcome_hours_early_needs_a_reason(served: dict[str, Any]) -> None:
    api: TestClient = served["api"]
    first, second = _checks(api)
    outcome = f"{API}/checks/{first['id']}/outcome"
    # eight hours early, as the attack did it: refused, with what to do instead
    refused = api.post(outcome, json={"outcome": "ok"})
    assert refused.status_code == 409, refused.text
    assert "timing_reason" in refused.json()["detail"]
    assert api.post(outcome, json={"outcome": "visit"}).status_code == 409
    assert api.post(outcome, json={"outcome": "ok", "timing_reason": "  "}).status_code == 422
    assert _checks(api)[0]["status"] == "scheduled"
    # a person who finds something wrong early says so at once: never held up
    assert api.post(f"{API}/checks/{second['id']}/outcome", json={"outcome": "abnormal"}).is_success
    # with a reason it is recorded, marked early, and the reason is kept with the check
    done = api.post(outcome, json={"outcome": "ok", "timing_reason": REASON})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["timing"]) == ("ok", "early")
    shown = _checks(api)[0]
    assert (shown["timing"], shown["timing_reason"]) == ("early", REASON)
    history = api.get(f"{API}/residents/{served['resident']}/history").json()["transitions"]
    closing = [t for t in history if t["check_id"] == first["id"] and t["to"] == "ok"]
    assert closing[0]["timing"] == "early"
    assert closing[0]["timing_reason"] == REASON


def test_inside_the_window_no_reason_is_asked(served: dict[str, Any]) -> None:
    api: TestClient = served["api"]
    served["clock"].jump_to(served["due"] - timedelta(minutes=5))
    first = _checks(api)[0]
    done = api.post(f"{API}/checks/{first['id']}/outcome", json={"outcome": "ok"})
    assert done.status_code == 200, done.text
    assert done.json()["timing"] is None


def test_the_board_shows_an_early_outcome_and_its_reason(
    browser: Any, served: dict[str, Any]
) -> None:
    api: TestClient = served["api"]
    platform: Platform = served["platform"]
    platform.users.add(
        "natt-anna", "night_staff", datetime.now(UTC), password=PASSWORD, care_units=["natt-a"]
    )
    first = _checks(api)[0]
    done = api.post(
        f"{API}/checks/{first['id']}/outcome", json={"outcome": "ok", "timing_reason": REASON}
    )
    assert done.status_code == 200, done.text
    base = served["base"]
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{base}/supervision")
        page.fill("#username", "natt-anna")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{base}/supervision*")
        check = page.locator(f"#check-{first['id']}")
        assert check.get_attribute("data-timing") == "early"
        text = check.inner_text()
        assert re.search(r"[Tt]idig", text), text
        assert REASON in text
        # and the resident's history says it too, beside the transition
        page.goto(f"{base}/supervision/residents/{served['resident']}")
        closing = page.locator(f"tr[data-check='{first['id']}'] .timing")
        assert closing.get_attribute("data-timing") == "early"
        assert REASON in closing.inner_text()
    finally:
        page.close()
