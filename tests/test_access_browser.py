"""Sign-in, CSRF, lockout and role-dependent pages in headless Chromium against the real process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from access.users import LOCK_AFTER
from tests.support.net import wait_for

pytestmark = pytest.mark.browser

PASSWORD = "ett långt lösenord 42"


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def test_sign_in_csrf_lockout_and_roles(
    browser: Any, platform_factory: Any, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        env={"KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": 0}})},
    ).start()
    base = proc.base_url
    for username, role, scope in (
        ("fastighet", "facility_staff", {"sites": ["*"]}),
        ("natt", "night_staff", {"care_units": ["enhet-1"]}),
        ("natt-2", "night_staff", {"care_units": ["enhet-1"]}),
    ):
        proc.post(
            "/api/v1/users", {"username": username, "role": role, "password": PASSWORD, **scope}
        )
    proc.post("/api/v1/devices", {"id": "bod-1", "type": "technical_shed_temperature"})
    proc.publish("kv/bod-1/up", {"values": {"temperature": 31.0}})
    alert = wait_for(lambda: proc.get("/api/v1/alerts", state="active"), what="alert")[0]  # type: ignore[index]

    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        # sign in as facility staff; the session cookie is HttpOnly and SameSite=Strict
        page.goto(f"{base}/alerts")
        assert page.url.startswith(f"{base}/login?next=/alerts")
        sign_in(page, base, "fastighet", "fel lösenord")
        assert page.locator("#login-error").inner_text().startswith("Inloggningen misslyckades")
        page.fill("#username", "fastighet")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{base}/")
        session = next(c for c in ctx.cookies() if c["name"] == "kv_session")
        assert session["httpOnly"] is True
        assert session["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find("kv_session") == -1
        # acknowledge through the page's form (it carries the CSRF token)
        page.goto(f"{base}/alerts")
        page.locator(
            f"#alert-{alert['id']} button[name=ack], #alert-{alert['id']} button"
        ).first.click()
        page.wait_for_load_state()
        acked = wait_for(
            lambda: proc.get(f"/api/v1/alerts/{alert['id']}")["state"] == "acknowledged", what="ack"
        )
        assert acked
        # a forged form (wrong CSRF token) is refused and shown as such
        page.goto(f"{base}/alerts")
        page.evaluate(
            "document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'forged')"
        )
        page.click("header form button[type=submit]")  # sign out, with the forged token
        assert page.locator("#denied").is_visible()
        page.goto(f"{base}/")
        assert page.url == f"{base}/"  # still signed in: the forged sign-out did nothing

        # night staff: no alerts link, and the alerts page is refused
        other = browser.new_context()
        night = other.new_page()
        sign_in(night, base, "natt-2", PASSWORD)
        assert night.url.startswith(f"{base}/supervision")  # where night staff's work is
        assert night.locator("header a[href='/alerts']").count() == 0
        assert page.locator("header a[href='/alerts']").count() == 1
        response = night.goto(f"{base}/alerts")
        assert response.status == 403
        assert night.locator("#denied h1").inner_text() == "Åtkomst nekad"
        other.close()

        # lockout: after LOCK_AFTER wrong passwords the right one is refused too
        third = browser.new_context()
        locked = third.new_page()
        for _ in range(LOCK_AFTER):
            sign_in(locked, base, "natt", "inte mitt lösenord")
        sign_in(locked, base, "natt", PASSWORD)
        assert locked.url.startswith(f"{base}/login")
        assert locked.locator("#login-error").is_visible()
        third.close()
    finally:
        ctx.close()

    audit = proc.get("/api/v1/audit", action="auth.sign_in")
    outcomes = [(e["actor"], e["outcome"], json.loads(e["details"]).get("reason")) for e in audit]
    assert ("fastighet", "allowed", None) in outcomes
    assert ("natt", "denied", "locked") in outcomes
    assert ("fastighet", "denied", "bad") in outcomes
    acks = proc.get("/api/v1/audit", action="alerts.ack")
    assert [(e["actor"], e["outcome"]) for e in acks] == [("fastighet", "allowed")]
    refused = [e for e in proc.get("/api/v1/audit", actor="fastighet") if e["outcome"] == "denied"]
    assert any(json.loads(e["details"]).get("reason") == "csrf" for e in refused)
