"""Two sites (A, B) and two care units (natt-a on A, natt-b on B) on a running app.

Each site has a place, a building device, a bed sensor in its care unit, a building alert, a
care alert, a resident and a dead letter (refused by the real pipeline); users are scoped to
A (technician, facility staff), to every site (viewer, technician) and to natt-a (night
staff), each with a token and a password for the web pages. Objects of B carry ``skola-b``
in their ids. Import the fixtures ``api`` and ``world`` into a test module to use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.pipeline import Inbound
from tests.support.registry_api import BACKENDS, make_api

__all__ = ["B_MARK", "CARE_TEXT", "PASSWORD", "api", "signed_in", "world"]

PASSWORD = "Rätt-häst-batteri-42"
CARE_TEXT = "Fall upptäckt i rum 12"  # a care alert's message
B_MARK = "skola-b"  # every object of site B carries it in its id


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    # PostgreSQL too: the care-alert filter reads the JSON tags column as text
    yield from make_api(request, tmp_path)


def _user(admin: TestClient, name: str, role: str, **scope: Any) -> dict[str, str]:
    body = {"username": name, "role": role, "password": PASSWORD, **scope}
    assert admin.post("/api/v1/users", json=body).status_code == 201
    resp = admin.post(f"/api/v1/users/{name}/tokens", json={"name": "test"})
    assert resp.status_code == 201, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


@pytest.fixture
def world(api: tuple[TestClient, Any]) -> dict[str, Any]:
    admin, platform = api
    for s in ("a", "b"):
        site = f"skola-{s}"
        assert admin.post("/api/v1/sites", json={"id": site, "name": site}).status_code == 201
        body = {"id": f"plats-{site}", "site_id": site, "name": "Pannrum"}
        assert admin.post("/api/v1/places", json=body).status_code == 201
        unit = {"id": f"natt-{s}", "name": f"Natt {s}", "site_id": site}
        assert admin.post("/api/v1/care-units", json=unit).status_code == 201, unit
        for device in (
            {"id": f"temp-{site}", "type": "technical_shed_temperature", "site_id": site},
            {
                "id": f"bed-{site}",
                "type": "bed_sensor",
                "site_id": site,
                "care_unit_id": unit["id"],
            },
        ):
            assert admin.post("/api/v1/devices", json=device).status_code == 201, device
    now = datetime.now(UTC)
    engine = platform.engine
    alerts = {}
    for s in ("a", "b"):
        site = f"skola-{s}"
        building = engine.raise_external(
            f"temp-{site}", "not_seen", "warning", f"Tyst {site}", (), now, site_id=site
        )
        care = engine.raise_external(
            f"bed-{site}",
            "fall_detected",
            "critical",
            f"{CARE_TEXT} {site}",
            (f"care_unit:natt-{s}", "role:night_staff"),
            now,
            site_id=site,
        )
        alerts[s] = (building.id, care.id)
    residents = {}
    for s in ("a", "b"):
        res = admin.post(
            "/api/v1/supervision/residents",
            json={"label": f"Rum 12 {s}", "care_unit_id": f"natt-{s}"},
        )
        assert res.status_code == 201, res.text
        residents[s] = res.json()["id"]
    # refused by the real pipeline: payloads that are not JSON, on each site's device topic
    platform.pipeline.process(
        [
            Inbound("kv/temp-skola-a/up", b"{bad a", 1, 1, now),
            Inbound("kv/temp-skola-b/up", b"{bad skola-b", 2, 1, now),
        ]
    )
    silence = admin.post(
        "/api/v1/silences",
        json={
            "scope": "site",
            "target": "skola-b",
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
    )
    assert silence.status_code == 201, silence.text
    users = {
        "tech_a": _user(admin, "tekniker-a", "technician", sites=["skola-a"]),
        "fac_a": _user(admin, "fastighet-a", "facility_staff", sites=["skola-a"]),
        "viewer_all": _user(admin, "tittare", "viewer", sites=["*"]),
        "tech_all": _user(admin, "tekniker-alla", "technician", sites=["*"]),
        "night_a": _user(admin, "natt-a", "night_staff", care_units=["natt-a"]),
    }
    return {
        "admin": admin,
        "platform": platform,
        "users": users,
        "alerts": alerts,
        "residents": residents,
        "silence_b": silence.json()["id"],
    }


def signed_in(admin: TestClient, username: str) -> TestClient:
    client = TestClient(admin.app, follow_redirects=False)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/", "csrf_token": csrf[1]},
    )
    assert resp.status_code == 303, resp.text
    return client
