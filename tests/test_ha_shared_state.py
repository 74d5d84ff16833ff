"""Two instances on one PostgreSQL share what a user sees of the access layer: a session made
through one is valid through the other (and a sign-out through either ends it), and the sign-in
rate limit and the lockout count attempts whichever instance received them. Real uvicorn
servers on loopback, a real sign-in form, a real PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from tests.support.net import free_port, wait_port
from tests.support.platform import TOKEN

pytestmark = pytest.mark.postgres

PASSWORD = "nattpatrull med långt lösenord"


def _serve(
    tmp_path: Path, name: str, url: str
) -> tuple[Platform, uvicorn.Server, threading.Thread, str]:
    port = free_port()
    settings = load_settings(
        data_dir=tmp_path / name, admin_token=TOKEN, api_port=port, database_url=url
    )
    platform = Platform(settings)
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
    pa.users.add("anna", "night_staff", datetime.now(UTC), password=PASSWORD, care_units=["*"])
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
    pa.users.add("bo", "night_staff", datetime.now(UTC), password=PASSWORD, care_units=["*"])
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
