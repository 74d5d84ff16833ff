"""Out-of-range ids, offsets, datetimes and months, and lone surrogates, get a 4xx with a
reason, not a 500; and a database error never writes its bound parameters to the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

BAD_REQUESTS = [
    "/api/v1/alerts/99999999999999999999",
    "/api/v1/alerts/99999999999999999999/history",
    "/api/v1/alerts?until=9999-12-31T23:59:59-14:00",
    "/api/v1/alerts?since=0001-01-01T00:00:00%2B14:00",
    "/api/v1/alerts?offset=9223372036854775808",
    "/api/v1/devices?offset=9223372036854775808",
    "/api/v1/dead-letters?offset=9223372036854775808",
    "/api/v1/silences/99999999999999999999",
    "/api/v1/deliveries?alert_id=99999999999999999999",
    "/api/v1/devices/d1/history?from=0001-01-01",
    "/api/v1/devices/d1/history?from=0001-01-01T00:00:00%2B14:00",
    "/api/v1/devices/d1/history?to=9999-12-31T23:59:59-14:00",
    "/api/v1/sites/s1/daily-record?month=0001-01",
    "/api/v1/sites/s1/daily-record?month=9999-12",
    "/api/v1/audit?since=0001-01-01T00:00:00%2B14:00",
    "/api/v1/supervision/audit?since=0001-01-01T00:00:00%2B14:00",
]


@pytest.fixture
def world(client: TestClient) -> TestClient:
    assert client.post("/api/v1/sites", json={"id": "s1", "name": "Skola"}).status_code == 201
    r = client.post("/api/v1/devices", json={"id": "d1", "type": "freezer", "site_id": "s1"})
    assert r.status_code == 201, r.text
    return client


@pytest.mark.parametrize("path", BAD_REQUESTS)
def test_out_of_range_parameters_are_refused_with_a_reason(world: TestClient, path: str) -> None:
    r = world.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    if r.status_code == 422:
        assert r.json()["detail"], r.text


LONE_SURROGATE = '"bytt batteri \\ud800"'


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/devices", '{"id": "d2", "type": "freezer", "notes": %s}'),
        ("PATCH", "/api/v1/devices/d1", '{"notes": %s}'),
        ("PATCH", "/api/v1/devices/d1", '{"name": %s}'),
        ("POST", "/api/v1/alerts/1/ack", '{"note": %s}'),
        ("PATCH", "/api/v1/sites/s1", '{"name": %s}'),
        ("POST", "/api/v1/supervision/checks/1/outcome", '{"outcome": "ok", "note": %s}'),
        ("POST", "/api/v1/devices", '{"id": %s, "type": "freezer"}'),
        ("POST", "/api/v1/users", '{"username": %s, "role": "viewer"}'),
    ],
)
def test_lone_surrogates_are_refused(world: TestClient, method: str, path: str, body: str) -> None:
    r = world.request(
        method,
        path,
        content=(body % LONE_SURROGATE).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422, (path, r.status_code, r.text[:300])
    assert "surrogate" in r.text or "Unicode" in r.text, r.text


def test_database_errors_do_not_log_bound_parameters(
    platform: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Lgh 12B, A.K. på sjukhus"
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(SQLAlchemyError) as raised,
        platform.db.connect() as conn,
    ):
        conn.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": secret})
    assert secret not in str(raised.value)
    assert secret not in caplog.text


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused_not_a_500(world: TestClient, number: str) -> None:
    body = f'{{"id": "d9", "type": "freezer", "expected_interval_s": {number}}}'
    r = world.post(
        "/api/v1/devices", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert "NaN, Infinity" in r.text
