"""Two instances on one PostgreSQL behave as one to the people using them: a session made
through one is valid through the other (and a sign-out through either ends it), the sign-in
rate limit and the lockout count attempts whichever instance received them, and a night board
open on one shows an outcome recorded through the other. Real uvicorn servers on loopback, a
real sign-in form, a real SSE stream, a real PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from access.sessions import WebSessionRow
from access.users import LOCK_AFTER
from access.web import LOGIN_RATE
from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from tests.support.net import free_port, wait_for, wait_port
from tests.support.platform import TOKEN

pytestmark = pytest.mark.postgres

PASSWORD = "nattpatrull med långt lösenord"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
API = "/api/v1/supervision"
#: both instances' clock: a check planned at 22:00 is due, and the minute does not turn (so a
#: re-render of the board can only come from a change)
NOW = datetime(2026, 11, 20, 22, 0, tzinfo=ZoneInfo("Europe/Stockholm")).astimezone(UTC)


def _serve(
    tmp_path: Path, name: str, url: str
) -> tuple[Platform, uvicorn.Server, threading.Thread, str]:
    port = free_port()
    settings = load_settings(
        data_dir=tmp_path / name,
        admin_token=TOKEN,
        api_port=port,
        database_url=url,
        supervision={"board_poll_s": 0.2},
    )
    platform = Platform(settings, clock=lambda: NOW)
    platform.start(mqtt=False)
    app = create_app(platform)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_port(port)
    return platform, server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def two(tmp_path: Path, pg_cluster: Any) -> Iterator[list[tuple[Platform, str]]]:
    url = pg_cluster.create_database()
    served = [_serve(tmp_path, name, url) for name in ("a", "b")]
    try:
        yield [(platform, base) for platform, _, _, base in served]
    finally:
        for platform, server, thread, _ in served:
            server.should_exit = True
            thread.join(10)
            platform.stop()


def _csrf(client: httpx.Client) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    return match[1]


def _attempt(client: httpx.Client, csrf: str, username: str, password: str) -> int:
    data = {"username": username, "password": password, "csrf_token": csrf}
    return client.post("/login", data=data).status_code


def test_a_session_made_on_one_instance_is_valid_on_the_other(
    two: list[tuple[Platform, str]],
) -> None:
    (pa, base_a), (_pb, base_b) = two
    pa.users.add("anna", "night_staff", NOW, password=PASSWORD, care_units=["*"])
    with (
        httpx.Client(base_url=base_a, timeout=10) as on_a,
        httpx.Client(base_url=base_b, timeout=10) as on_b,
    ):
        assert _attempt(on_a, _csrf(on_a), "anna", PASSWORD) == 303
        on_b.cookies = on_a.cookies  # the load balancer sends the next request elsewhere
        me = on_b.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["name"] == "anna"
        # only a digest of the id is kept: a copy of the table opens no session
        sid = on_a.cookies["kv_session"]
        with pa.sessions() as s:
            digests = list(s.scalars(select(WebSessionRow.id_digest)))
        assert len(digests) == 1
        assert sid not in digests[0]
        # the CSRF token of the session holds on the other instance too: sign out there
        csrf = on_a.cookies["kv_csrf"]
        assert on_b.post("/logout", data={"csrf_token": csrf}).status_code == 303
        assert on_a.get("/api/v1/me").status_code == 401


def test_rate_limit_and_lockout_count_attempts_on_both_instances(
    two: list[tuple[Platform, str]],
) -> None:
    (pa, base_a), (_pb, base_b) = two
    pa.users.add("bo", "night_staff", NOW, password=PASSWORD, care_units=["*"])
    with (
        httpx.Client(base_url=base_a, timeout=10) as on_a,
        httpx.Client(base_url=base_b, timeout=10) as on_b,
    ):
        csrf = _csrf(on_a)
        on_b.cookies = on_a.cookies
        clients = [on_a, on_b]
        # wrong passwords, alternately through each instance: the user locks for this source
        for i in range(LOCK_AFTER):
            assert _attempt(clients[i % 2], csrf, "bo", "fel lösenord") == 401
        assert _attempt(on_b, csrf, "bo", PASSWORD) == 401  # locked, on the other one too
        # the per-source limit: LOGIN_RATE attempts a minute in all, not per instance
        for i in range(LOGIN_RATE - LOCK_AFTER - 1):
            assert _attempt(clients[i % 2], csrf, "bo", "fel lösenord") == 401
        assert _attempt(on_a, csrf, "bo", "fel lösenord") == 429
        assert _attempt(on_b, csrf, "bo", "fel lösenord") == 429


def _board_events(lines: Iterator[str]) -> Iterator[str]:
    """The HTML of each ``board`` event of an SSE stream."""
    event, data = "", []
    for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
        elif not line and event:
            if event == "board":
                yield "\n".join(data)
            event, data = "", []


def test_a_board_open_on_one_instance_shows_an_outcome_recorded_through_the_other(
    two: list[tuple[Platform, str]],
) -> None:
    (_pa, base_a), (_pb, base_b) = two
    with httpx.Client(base_url=base_b, headers=ADMIN, timeout=10) as admin_b:
        assert admin_b.post("/api/v1/care-units", json={"id": "u1", "name": "U1"}).is_success
        r = admin_b.post(f"{API}/residents", json={"label": "Lgh 1", "care_unit_id": "u1"})
        rid = r.json()["id"]
        consent = {"party": "resident", "scope": ["camera"], "given_on": "2026-01-01"}
        assert admin_b.post(f"{API}/residents/{rid}/consents", json=consent).is_success
        plan = {"method": "camera", "times": ["22:00"], "valid_from": "2026-11-01"}
        assert admin_b.post(f"{API}/residents/{rid}/schedules", json=plan).is_success
        # tonight's check, made by the clock of either instance
        wait_for(lambda: bool(_checks(admin_b)), 10, 0.1, what="tonight's check is made")
        check = _checks(admin_b)[0]
        timeout = httpx.Timeout(10, read=5)  # a board event later than that fails the test
        with (
            httpx.Client(base_url=base_a, headers=ADMIN, timeout=timeout) as phone_a,
            phone_a.stream("GET", "/supervision/units/u1/events") as stream,
        ):
            boards = _board_events(stream.iter_lines())
            first = next(boards)
            assert "Lgh 1" in first
            done = admin_b.post(f"{API}/checks/{check['id']}/outcome", json={"outcome": "ok"})
            assert done.status_code == 200, done.text
            started = time.monotonic()
            changed = next(boards)
            took = time.monotonic() - started
        assert changed != first
        assert took < 3, took


def _checks(client: httpx.Client) -> list[dict[str, Any]]:
    board = client.get(f"{API}/units/u1/board").json()
    return [c for r in board["rows"] for c in r["checks"]]
