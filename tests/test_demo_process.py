"""``kommunvakt run --simulate`` as a newcomer starts it (what ``make run`` does): it prints a
web sign-in that works, and the demo municipality raises its first alerts within minutes."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.net import wait_for
from tests.support.platform import KOMMUNVAKT, PlatformProcess

pytestmark = pytest.mark.slow


def _sign_in(base_url: str, password: str) -> httpx.Client:
    web = httpx.Client(base_url=base_url, timeout=10)
    form = web.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None, form.text[:500]
    resp = web.post(
        "/login", data={"username": "admin", "password": password, "csrf_token": csrf[1]}
    )
    assert resp.status_code == 303, resp.text[:500]
    return web


def test_the_demo_prints_a_sign_in_that_works_and_raises_alerts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = PlatformProcess(data, args=["--simulate"]).start(timeout=60)
    try:
        wait_for(lambda: "web sign-in: admin / " in platform.output(), 10, what="sign-in line")
        printed = re.search(r"web sign-in: admin / (\S+)", platform.output())
        assert printed is not None
        password = printed[1]
        kept = data / "admin_password"
        assert kept.read_text().strip() == password
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600

        web = _sign_in(platform.base_url, password)
        try:
            assert web.get("/").status_code == 200
            wrong = httpx.post(
                f"{platform.base_url}/login",
                data={"username": "admin", "password": password + "x"},
            )
            assert wrong.status_code != 303

            def alerted() -> bool:
                return bool(platform.get("/api/v1/alerts"))

            wait_for(alerted, 150, what="a demo alert")
            page = web.get("/alerts")
            assert page.status_code == 200
            assert "Vattenverket" in page.text or "Solgården" in page.text
        finally:
            web.close()
    finally:
        platform.stop()

    # a second start prints the same password; set-password voids the kept one
    again = PlatformProcess(data, args=["--simulate"]).start(timeout=60)
    try:
        wait_for(lambda: "web sign-in: admin / " in again.output(), 10, what="sign-in line")
        assert again.log.read_text().count(f"admin / {password}") == 2
    finally:
        again.stop()
    changed = subprocess.run(
        [KOMMUNVAKT, "users", "set-password", "admin", "--password-stdin"],
        input="en helt ny lösenfras 2026\n",
        env=again.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert changed.returncode == 0, changed.stderr
    assert not (data / "admin_password").exists()
