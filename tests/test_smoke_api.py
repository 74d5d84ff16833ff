"""The API answers, refuses without a token, and registers a device."""

from __future__ import annotations

from typing import Any


def test_health_and_auth(client: Any) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    anonymous = client.get("/api/v1/devices", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    wrong = client.get("/api/v1/devices", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_register_device_and_errors(client: Any) -> None:
    created = client.post(
        "/api/v1/devices", json={"id": "shed-1", "type": "technical_shed_temperature"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["refs"] == [{"source": "native", "ref": "shed-1"}]
    assert (
        client.post(
            "/api/v1/devices", json={"id": "shed-1", "type": "technical_shed_temperature"}
        ).status_code
        == 409
    )
    bad_type = client.post("/api/v1/devices", json={"id": "x", "type": "toaster"})
    assert bad_type.status_code == 422
    assert "toaster" in bad_type.json()["detail"]
    no_site = client.post(
        "/api/v1/devices", json={"id": "y", "type": "water_leak", "site_id": "nowhere"}
    )
    assert no_site.status_code == 404
    listed = client.get("/api/v1/devices").json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == "shed-1"
    assert client.get("/api/v1/devices/shed-1/latest").json() == []
    assert client.get("/api/v1/devices/nope/latest").status_code == 404
