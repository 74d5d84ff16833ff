"""Web sessions over real HTTP (uvicorn on loopback, a real session cookie, a real SSE stream):
a password or role change ends every session of the user, and an open night-board stream
stops sending care data when its user loses the role."""

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

from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from tests.support.net import free_port, wait_port
from tests.support.platform import TOKEN

PASSWORD = "nattpatrull med långt lösenord"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    settings = load_settings(
        data_dir=tmp_path / "data",
        admin_token=TOKEN,
        api_port=port,
        supervision={"board_poll_s": 0.2},
    )
    platform = Platform(settings)
    platform.start(mqtt=False)
    app = create_app(platform)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_port(port)
    try:
        yield {"platform": platform, "base": f"http://127.0.0.1:{port}"}
    finally:
        server.should_exit = True
        thread.join(10)
        platform.stop()


def sign_in(base: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """A browser-like client with a session cookie from the real sign-in form."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
    form = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert match
    done = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": match[1]}
    )
    assert done.status_code == 303, done.text
    assert client.get("/api/v1/me").status_code == 200
    return client


def test_password_and_role_changes_end_sessions(served: dict[str, Any]) -> None:
    base, platform = served["base"], served["platform"]
    now = datetime.now(UTC)
    platform.users.add("anna", "facility_staff", now, password=PASSWORD, sites=["*"])
    with httpx.Client(base_url=base, headers=ADMIN) as admin:
        # a password change (the old one leaked, say): the session made with it ends
        stolen = sign_in(base, "anna")
        new_password = "ett helt nytt långt lösenord"
        from access.admin import set_password

        set_password(platform.users, platform.audit, "admin", now, "anna", new_password)
        assert stolen.get("/api/v1/me").status_code == 401
        assert stolen.get("/alerts").status_code == 303  # back to the sign-in form

        # a role change: the session ends; a new sign-in gets the new role
        session = sign_in(base, "anna", new_password)
        assert admin.patch("/api/v1/users/anna", json={"role": "viewer"}).status_code == 200
        assert session.get("/api/v1/me").status_code == 401
        again = sign_in(base, "anna", new_password)
        assert again.get("/api/v1/me").json()["role"] == "viewer"
        # a scope change too; a new display name is no reason to sign anyone out
        assert admin.patch("/api/v1/users/anna", json={"display_name": "Anna"}).status_code == 200
        assert again.get("/api/v1/me").status_code == 200
        assert admin.patch("/api/v1/users/anna", json={"sites": ["s1"]}).status_code == 200
        assert again.get("/api/v1/me").status_code == 401


def test_board_stream_stops_when_the_user_loses_the_role(served: dict[str, Any]) -> None:
    base, platform = served["base"], served["platform"]
    with httpx.Client(base_url=base, headers=ADMIN) as admin:
        assert admin.post("/api/v1/care-units", json={"id": "natt-a", "name": "A"}).is_success
    platform.users.add(
        "natt-anna", "night_staff", datetime.now(UTC), password=PASSWORD, care_units=["natt-a"]
    )
    phone = sign_in(base, "natt-anna")
    with phone.stream("GET", "/supervision/units/natt-a/events") as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: board"
        with httpx.Client(base_url=base, headers=ADMIN) as admin:
            # the unit stays in scope; only the role that may read care data goes
            demoted = admin.patch("/api/v1/users/natt-anna", json={"role": "technician"})
            assert demoted.status_code == 200
        # the stream ends (EOF) well before its keepalive or the next minute's re-render
        rest = list(lines)
    assert not any(line.startswith("event: board") for line in rest)
    assert phone.get("/supervision/units/natt-a/rows").status_code in (303, 403)


def test_board_stream_rechecks_the_role_of_a_token(served: dict[str, Any]) -> None:
    """The stream's re-check asks for the care role, not only for the unit in scope."""
    base = served["base"]
    with httpx.Client(base_url=base, headers=ADMIN) as admin:
        assert admin.post("/api/v1/care-units", json={"id": "natt-a", "name": "A"}).is_success
        user = {"username": "natt-tok", "role": "night_staff", "care_units": ["natt-a"]}
        assert admin.post("/api/v1/users", json=user).status_code == 201
        token = admin.post("/api/v1/users/natt-tok/tokens", json={"name": "t"}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=base, headers=auth, timeout=10) as phone,
            phone.stream("GET", "/supervision/units/natt-a/events") as stream,
        ):
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: board"
            demoted = admin.patch("/api/v1/users/natt-tok", json={"role": "technician"})
            assert demoted.status_code == 200
            rest = list(lines)
    assert not any(line.startswith("event: board") for line in rest)
