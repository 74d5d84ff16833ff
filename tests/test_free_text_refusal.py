"""Every stored free-text field refuses a personal identity number, whatever its separators:
422 with a reason in Swedish and English, through the running app and its real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

# the forms that got through: every one a valid number with its check digit
NUMBERS = ["19121212.1212", "1912-12-12-1212", "19 12 12 1212", "121212 - 1212", "121212--1212"]
SUP = "/api/v1/supervision"


@pytest.fixture
def world(client: TestClient) -> dict[str, Any]:
    assert client.post("/api/v1/sites", json={"id": "s1", "name": "Skola"}).status_code == 201
    assert client.post("/api/v1/care-units", json={"id": "u1", "name": "Natt"}).status_code == 201
    r = client.post("/api/v1/places", json={"id": "p1", "site_id": "s1", "name": "Kök"})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/devices", json={"id": "d1", "type": "freezer", "site_id": "s1"})
    assert r.status_code == 201, r.text
    r = client.post(f"{SUP}/residents", json={"label": "Lgh 1, A.A.", "care_unit_id": "u1"})
    assert r.status_code == 201, r.text
    return {"resident": r.json()["id"]}


def _writes(world: dict[str, Any], text: str) -> list[tuple[str, str, dict[str, Any]]]:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rid = world["resident"]
    return [
        ("POST", "/api/v1/devices", {"id": "d2", "type": "freezer", "name": text}),
        ("POST", "/api/v1/devices", {"id": "d3", "type": "freezer", "notes": f"bytt av {text}"}),
        ("POST", "/api/v1/devices", {"id": "d4", "type": "freezer", "place": text}),
        ("POST", "/api/v1/devices", {"id": "d5", "type": "freezer", "installed_by": text}),
        ("PATCH", "/api/v1/devices/d1", {"notes": text}),
        ("PATCH", "/api/v1/devices/d1", {"name": text}),
        ("POST", "/api/v1/places", {"id": "p2", "site_id": "s1", "name": f"Rum {text}"}),
        ("PATCH", "/api/v1/places/p1", {"notes": text}),
        ("POST", "/api/v1/sites", {"id": "s2", "name": "Skola", "address": text}),
        ("PATCH", "/api/v1/sites/s1", {"name": text}),
        ("PATCH", "/api/v1/care-units/u1", {"name": text}),
        (
            "POST",
            "/api/v1/silences",
            {"scope": "device", "target": "d1", "ends_at": soon, "reason": text},
        ),
        ("POST", "/api/v1/alerts/1/ack", {"note": f"kvitterat, {text}"}),
        ("POST", "/api/v1/users", {"username": "anna", "role": "viewer", "display_name": text}),
        ("POST", "/api/v1/me/tokens", {"name": f"token {text}"}),
        ("POST", "/api/v1/places", {"id": text.replace(" ", "-"), "site_id": "s1", "name": "Rum"}),
        (
            "POST",
            f"{SUP}/residents/{rid}/consents",
            {
                "party": "cohabitant",
                "party_label": f"sambo {text}",
                "scope": ["camera"],
                "given_on": "2026-01-01",
            },
        ),
        ("POST", f"{SUP}/checks/1/outcome", {"outcome": "ok", "note": f"sov, {text}"}),
        ("POST", f"{SUP}/residents", {"label": f"Lgh {text}", "care_unit_id": "u1"}),
    ]


@pytest.mark.parametrize("number", NUMBERS)
def test_every_free_text_field_refuses_the_number(
    client: TestClient, world: dict[str, Any], number: str
) -> None:
    for method, path, body in _writes(world, number):
        r = client.request(method, path, json=body)
        assert r.status_code == 422, (method, path, body, r.status_code, r.text)
        assert "personnummer" in r.text, r.text
        assert "personal identity number" in r.text, r.text


def test_ordinary_text_and_phone_numbers_pass(client: TestClient, world: dict[str, Any]) -> None:
    r = client.patch("/api/v1/devices/d1", json={"notes": "ring vaktm. 070-123 45 67, rum 1201"})
    assert r.status_code == 200, r.text
    r = client.patch("/api/v1/places/p1", json={"notes": "nyckel i skåp 12, kod 4711"})
    assert r.status_code == 200, r.text


def test_csv_import_refuses_the_number_row_by_row(
    client: TestClient, world: dict[str, Any]
) -> None:
    csv_text = "id;typ;namn;anteckningar\nf9;freezer;Frys 9;bytt av 19121212.1212\n"
    r = client.post(
        "/api/v1/devices/import",
        params={"dry_run": "false"},
        content=csv_text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert "personnummer" in r.text
    assert client.get("/api/v1/devices/f9").status_code == 404
