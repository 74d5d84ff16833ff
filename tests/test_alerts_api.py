"""The alerts API in process: filters and history, resolve with a note, silences CRUD, rule
overrides, delivery log, /metrics, and the acknowledge link as a phone without a session uses it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app


@pytest.fixture
def hot_shed(client: Any, platform: Any) -> dict[str, Any]:
    client.post("/api/v1/sites", json={"id": "vattenverket", "name": "Vattenverket"})
    resp = client.post(
        "/api/v1/devices",
        json={"id": "tb-7", "type": "technical_shed_temperature", "name": "Teknikbod 7",
              "site_id": "vattenverket", "place": "Pumprum"},
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    from devices.reading import Reading

    info = platform.registry.info("tb-7")
    now = datetime.now(UTC)
    platform.engine.on_readings(
        [(info, Reading("tb-7", now - timedelta(minutes=6), "temperature", 31.0)),
         (info, Reading("tb-7", now, "temperature", 31.2))]
    )  # fmt: skip
    (alert,) = client.get("/api/v1/alerts", params={"state": "active"}).json()
    return alert  # type: ignore[no-any-return]


def test_list_filter_history_resolve_with_note(client: Any, hot_shed: dict[str, Any]) -> None:
    a = hot_shed
    assert (a["severity"], a["site_id"], a["value"], a["threshold"]) == (
        "critical", "vattenverket", 31.2, 30.0,
    )  # fmt: skip
    assert client.get("/api/v1/alerts", params={"site_id": "annan"}).json() == []
    assert len(client.get("/api/v1/alerts", params={"severity": "critical"}).json()) == 1
    assert client.get("/api/v1/alerts", params={"origin": "external"}).json() == []
    resp = client.post(f"/api/v1/alerts/{a['id']}/resolve", json={"note": "fläkten bytt"})
    assert resp.status_code == 200
    body = resp.json()
    assert (body["state"], body["resolved_by"], body["resolved_while_unacknowledged"]) == (
        "resolved", "admin", True,
    )  # fmt: skip
    history = client.get(f"/api/v1/alerts/{a['id']}/history").json()
    assert [(h["kind"], h["actor"]) for h in history] == [("fire", "system"), ("resolve", "admin")]
    assert history[-1]["note"] == "fläkten bytt"
    assert client.post(f"/api/v1/alerts/{a['id']}/resolve", json={}).status_code == 409
    assert client.post("/api/v1/alerts/999/ack", json={}).status_code == 404


def test_silences_crud(client: Any) -> None:
    now = datetime.now(UTC)
    body = {"scope": "site", "target": "vattenverket", "ends_at": (now + timedelta(hours=2))
            .isoformat(), "reason": "service av pumpar"}  # fmt: skip
    created = client.post("/api/v1/silences", json=body)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["created_by"] == "admin"
    assert [s["id"] for s in client.get("/api/v1/silences", params={"active": True}).json()] == [
        sid
    ]
    later = (now + timedelta(hours=4)).isoformat()
    patched = client.patch(f"/api/v1/silences/{sid}", json={"ends_at": later})
    assert patched.status_code == 200
    assert patched.json()["ends_at"].startswith(later[:16])
    bad = {**body, "ends_at": (now - timedelta(hours=1)).isoformat()}
    assert client.post("/api/v1/silences", json=bad).status_code == 422
    assert client.post("/api/v1/silences", json={**body, "scope": "kommun"}).status_code == 422
    assert client.delete(f"/api/v1/silences/{sid}").status_code == 204
    assert client.get(f"/api/v1/silences/{sid}").status_code == 404


def test_rule_overrides_through_the_api(client: Any, hot_shed: dict[str, Any]) -> None:
    put = {"scope": "site:vattenverket", "rule": "shed_too_hot", "params": {"hold_s": 30}}
    assert client.put("/api/v1/rules/overrides", json=put).status_code == 200
    rules = {
        r["name"]: r for r in client.get("/api/v1/rules/effective?device_id=tb-7").json()
    }  # fmt: skip
    assert rules["shed_too_hot"]["hold_s"] == 30
    assert {"device_silent", "battery_low"} <= set(rules)
    broken = {"scope": "device:tb-7", "rule": "shed_too_hot", "params": {"levels": "varmt"}}
    resp = client.put("/api/v1/rules/overrides", json=broken)
    assert resp.status_code == 422
    assert "shed_too_hot" in resp.json()["detail"]
    assert [o["scope"] for o in client.get("/api/v1/rules/overrides").json()] == [
        "site:vattenverket"
    ]
    bad_scope = {"scope": "kommun:x", "rule": "shed_too_hot", "params": {}}
    assert client.put("/api/v1/rules/overrides", json=bad_scope).status_code == 422
    params = {"scope": "site:vattenverket", "rule": "shed_too_hot"}
    assert client.delete("/api/v1/rules/overrides", params=params).status_code == 204
    rules = {r["name"]: r for r in client.get("/api/v1/rules/effective?device_id=tb-7").json()}
    assert rules["shed_too_hot"]["hold_s"] == 300


def test_deliveries_and_metrics(client: Any, hot_shed: dict[str, Any]) -> None:
    deliveries = client.get("/api/v1/deliveries", params={"alert_id": hot_shed["id"]}).json()
    assert [(d["kind"], d["channel"], d["outcome"]) for d in deliveries] == [
        ("fire", "log", "sent")
    ]
    metrics = client.get("/metrics").text
    assert 'kommunvakt_alerts{state="active"} 1' in metrics
    assert 'kommunvakt_alert_deliveries_total{outcome="sent"} 1' in metrics


@pytest.fixture
def phone(platform: Any) -> Iterator[TestClient]:
    """A browser on a phone: no bearer token, no session, cookies kept."""
    with TestClient(create_app(platform)) as c:
        yield c


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_ack_link_confirm_then_acknowledge_once(
    phone: TestClient, platform: Any, client: Any, hot_shed: dict[str, Any]
) -> None:
    alert_id = hot_shed["id"]
    url = platform.alerting.links.url(alert_id, "Fastighetsjouren", datetime.now(UTC))
    path = url[url.index("/ack/") :]
    page = phone.get(path)  # a mail scanner's prefetch does exactly this
    assert page.status_code == 200
    assert "Teknikbod 7" in page.text
    assert 'id="confirm-ack"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert client.get(f"/api/v1/alerts/{alert_id}").json()["state"] == "active"
    # a POST without the page's CSRF token is refused (a cross-site form cannot ack)
    assert phone.post(path, data={}).status_code == 403
    done = phone.post(path, data={"csrf_token": _csrf(page.text)})
    assert done.status_code == 200, done.text
    assert "Larmet är kvitterat" in done.text
    alert = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert (alert["state"], alert["acknowledged_by"]) == ("acknowledged", "länk: Fastighetsjouren")
    again = phone.post(path, data={"csrf_token": _csrf(page.text)})
    assert "redan kvitterat" in again.text
    # forged and expired links
    token = path.removeprefix("/ack/")
    forged = phone.get(f"/ack/{token[:-4]}AAAA")
    assert forged.status_code == 410
    assert "ogiltig" in forged.text
    old = platform.alerting.links.url(alert_id, "x", datetime.now(UTC) - timedelta(days=2))
    expired = phone.get(old[old.index("/ack/") :])
    assert expired.status_code == 410
    assert "gått ut" in expired.text
    assert "csrf_token" not in expired.text


def test_a_used_link_does_not_work_twice_even_for_a_new_alert_state(
    phone: TestClient, platform: Any, client: Any, hot_shed: dict[str, Any]
) -> None:
    alert_id = hot_shed["id"]
    url = platform.alerting.links.url(alert_id, "Jour", datetime.now(UTC))
    path = url[url.index("/ack/") :]
    page = phone.get(path)
    phone.post(path, data={"csrf_token": _csrf(page.text)})
    claim = platform.alerting.links.verify(path.removeprefix("/ack/"), datetime.now(UTC))
    assert platform.alerting.links.is_used(claim)
