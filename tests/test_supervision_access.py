"""E-supervision over the API: consent gate, scope per care unit (403 + audit), exports, erasure,
retention. In-process platform, real SQLite, real audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

API = "/api/v1/supervision"


def _token(platform: Any, name: str, role: str, units: list[str]) -> str:
    now = datetime.now(UTC)
    platform.users.add(name, role, now, care_units=units)
    token, _info = platform.users.create_token(name, "test", now)
    return token


@pytest.fixture
def env(platform: Any, client: TestClient) -> dict[str, Any]:
    for unit in ("natt-a", "natt-b"):
        r = client.post("/api/v1/care-units", json={"id": unit, "name": f"Hemtjänst {unit}"})
        assert r.status_code == 201, r.text
    a = _token(platform, "nurse-a", "night_staff", ["natt-a"])
    b = _token(platform, "nurse-b", "night_staff", ["natt-b"])
    auditor = _token(platform, "reviewer", "auditor", [])
    res = client.post(f"{API}/residents", json={"label": "Lgh 12B, A.K.", "care_unit_id": "natt-b"})
    assert res.status_code == 201, res.text
    return {"a": a, "b": b, "auditor": auditor, "rb": res.json()["id"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_resident_of_unit_b_is_refused_to_unit_a_and_on_record(
    platform: Any, client: TestClient, env: dict[str, Any]
) -> None:
    rb = env["rb"]
    for path in (
        f"{API}/residents/{rb}",
        f"{API}/residents/{rb}/history",
        f"{API}/units/natt-b/board",
    ):
        denied = client.get(path, headers=bearer(env["a"]))
        assert denied.status_code == 403, (path, denied.text)
        assert client.get(path, headers=bearer(env["b"])).status_code == 200
    # the list shows unit A nothing of unit B
    assert client.get(f"{API}/residents", headers=bearer(env["a"])).json() == []
    assert [r["id"] for r in client.get(f"{API}/residents", headers=bearer(env["b"])).json()] == [
        rb
    ]
    refused = [e for e in platform.audit.entries(actor="nurse-a") if e.outcome == "denied"]
    # a resident's data: refused and recorded by the supervision gate (the id is no unit)
    assert {(e.action, e.target_id) for e in refused} >= {
        ("supervision.resident.view", rb),
        ("supervision.history.view", rb),
    }
    # a unit's board: refused by whichever comes first, the central scope check (access,
    # from the path's unit id) or the supervision gate; either way on record with the unit
    assert any(
        e.target_id == "natt-b" and e.action in ("care.read", "supervision.board.view")
        for e in refused
    )
    assert all(e.source_ip for e in refused)
    assert all("Lgh" not in (e.details or "") for e in platform.audit.entries(limit=10_000))
    # night staff may not change the plan of care (care.admin), and that is on record too
    r = client.post(
        f"{API}/residents/{rb}/consents",
        headers=bearer(env["b"]),
        json={"party": "resident", "scope": ["camera"], "given_on": "2026-11-01"},
    )
    assert r.status_code == 403
    assert platform.audit.verify()


def test_audit_export_per_resident_and_per_user(
    platform: Any, client: TestClient, env: dict[str, Any]
) -> None:
    rb = env["rb"]
    client.get(f"{API}/residents/{rb}", headers=bearer(env["a"]))  # denied
    client.get(f"{API}/residents/{rb}/history", headers=bearer(env["b"]))  # allowed
    assert (
        client.get(
            f"{API}/audit", params={"actor": "nurse-a"}, headers=bearer(env["b"])
        ).status_code
        == 403
    )
    per_user = client.get(
        f"{API}/audit", params={"actor": "nurse-a", "format": "csv"}, headers=bearer(env["auditor"])
    )
    assert per_user.status_code == 200
    assert per_user.headers["content-type"].startswith("text/csv")
    assert "supervision.resident.view" in per_user.text
    assert "denied" in per_user.text
    per_resident = client.get(
        f"{API}/audit", params={"resident_id": rb}, headers=bearer(env["auditor"])
    )
    rows = orjson.loads(per_resident.content)
    actions = {(r["actor"], r["action"], r["outcome"]) for r in rows}
    assert ("nurse-a", "supervision.resident.view", "denied") in actions
    assert ("nurse-b", "supervision.history.view", "allowed") in actions
    # the export itself is on record
    assert platform.audit.entries(actor="reviewer", action="supervision.audit.export")
    # nobody edits or deletes the record through the platform: the database refuses it
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    for stmt in ("DELETE FROM audit_log", "UPDATE audit_log SET actor = 'x'"):
        with pytest.raises(DatabaseError, match="append-only"), platform.db.begin() as conn:
            conn.execute(text(stmt))
    assert platform.audit.verify()


def test_no_schedule_without_consent_and_withdrawal_stops_at_once(
    platform: Any, client: TestClient, env: dict[str, Any]
) -> None:
    rb = env["rb"]
    today = date.today()
    body = {
        "method": "camera",
        "times": ["22:00", "23:00", "02:00", "05:00"],
        "valid_from": str(today - timedelta(days=1)),
    }
    r = client.post(f"{API}/residents/{rb}/schedules", json=body)
    assert r.status_code == 409
    assert "consent" in r.json()["detail"]
    # with a cohabiting relative, both must consent
    res2 = client.post(
        f"{API}/residents",
        json={"label": "Lgh 3, B.B.", "care_unit_id": "natt-b", "cohabitants": 1},
    ).json()["id"]
    own = {"party": "resident", "scope": ["camera"], "given_on": str(today)}
    assert client.post(f"{API}/residents/{res2}/consents", json=own).status_code == 201
    assert client.post(f"{API}/residents/{res2}/schedules", json=body).status_code == 409
    relative = {**own, "party": "cohabitant", "party_label": "sambo"}
    assert client.post(f"{API}/residents/{res2}/consents", json=relative).status_code == 201
    created = client.post(f"{API}/residents/{res2}/schedules", json=body)
    assert created.status_code == 201, created.text
    board = client.get(f"{API}/units/natt-b/board").json()
    upcoming = [c for row in board["rows"] for c in row["checks"] if c["status"] == "scheduled"]
    # withdrawing the relative's consent cancels every open check at once
    consents = client.get(f"{API}/residents/{res2}").json()["consents"]
    rel_id = next(c["id"] for c in consents if c["party"] == "cohabitant")
    w = client.post(f"{API}/residents/{res2}/consents/{rel_id}/withdraw")
    assert w.status_code == 200, w.text
    assert w.json()["cancelled_checks"] == len(upcoming)
    history = client.get(f"{API}/residents/{res2}/history").json()
    assert all(c["status"] in ("cancelled", "missed", "ok") for c in history["checks"])
    assert (
        platform.supervision.materialise(
            platform.supervision.tonight(datetime.now(UTC)), datetime.now(UTC)
        )
        == 0
    )


def test_camera_refused_for_lacking_capacity_and_labels_without_personnummer(
    client: TestClient, env: dict[str, Any]
) -> None:
    bad = client.post(f"{API}/residents", json={"label": "19450101-1234", "care_unit_id": "natt-b"})
    assert bad.status_code == 422
    assert "identity number" in bad.json()["detail"]
    nope = client.post(f"{API}/residents", json={"label": "Lgh 9", "care_unit_id": "natt-x"})
    assert nope.status_code == 404
    rid = client.post(
        f"{API}/residents",
        json={"label": "Lgh 7, C.C.", "care_unit_id": "natt-b", "lacks_capacity": True},
    ).json()["id"]
    consent = {"party": "resident", "scope": ["camera"], "given_on": str(date.today())}
    client.post(f"{API}/residents/{rid}/consents", json=consent)
    r = client.post(
        f"{API}/residents/{rid}/schedules",
        json={"method": "camera", "times": ["23:00"], "valid_from": str(date.today())},
    )
    assert r.status_code == 409


def test_export_and_erase_a_resident_and_retention(
    platform: Any, client: TestClient, env: dict[str, Any]
) -> None:
    rb = env["rb"]
    client.post(
        f"{API}/residents/{rb}/consents",
        json={"party": "resident", "scope": ["camera"], "given_on": "2026-01-01"},
    )
    client.post(
        f"{API}/residents/{rb}/schedules",
        json={"method": "camera", "times": ["00:00"], "valid_from": "2026-01-01"},
    )
    exported = client.get(f"{API}/residents/{rb}/export").json()
    assert exported["resident"]["label"] == "Lgh 12B, A.K."
    assert exported["consents"]
    assert exported["schedules"]
    assert client.delete(f"{API}/residents/{rb}", headers=bearer(env["b"])).status_code == 403
    assert client.delete(f"{API}/residents/{rb}").status_code == 204
    assert client.get(f"{API}/residents/{rb}").status_code == 404
    from sqlalchemy import func, select

    from supervision.models import SUPERVISION_TABLES

    with platform.sessions() as s:
        for table in SUPERVISION_TABLES:
            assert s.scalar(select(func.count()).select_from(table)) == 0, table.__tablename__
    # the audit trail of the erased resident survives (ids only), until its own retention
    assert platform.audit.entries(target_type="resident", target_id=rb)
    later = datetime.now(UTC) + timedelta(days=731)
    erased = platform.supervision.retention(later)
    assert erased["audit"] > 0
    assert platform.audit.entries(target_id=rb) == []


def test_board_page_in_swedish_and_english_and_refused_to_the_other_unit(
    platform: Any, client: TestClient, env: dict[str, Any]
) -> None:
    sv = client.get("/supervision?unit=natt-b")
    assert sv.status_code == 200
    assert "Nattillsyn · Hemtjänst natt-b" in sv.text  # the unit by its name
    assert 'lang="sv"' in sv.text
    en = client.get("/supervision?unit=natt-b&lang=en")
    assert "Night checks · Hemtjänst natt-b" in en.text
    assert client.get("/supervision?unit=natt-b", headers=bearer(env["a"])).status_code == 403
    # unit A's own board (empty) is fine, and unit A's list of units does not name unit B
    own = client.get("/supervision", headers=bearer(env["a"]))
    assert own.status_code == 200
    assert "natt-b" not in own.text
    assert "Inga tillsyner i natt." in own.text


def test_every_board_read_is_on_record(
    platform: Any, client: TestClient, env: dict[str, Any]
) -> None:
    for _ in range(3):
        assert client.get(f"{API}/units/natt-b/board", headers=bearer(env["b"])).status_code == 200
    views = platform.audit.entries(actor="nurse-b", action="supervision.board.view")
    assert len(views) == 3
    assert all(v.target_type == "care_unit" and v.target_id == "natt-b" for v in views)
    # while one open board re-renders, the look is logged once (coalesced)
    gate = platform.supervision.gate
    now = datetime.now(UTC)

    class _Req:
        client = type("C", (), {"host": "10.0.0.9"})()

    assert gate.view(_Req(), platform.users.principal("nurse-b"), "natt-b", [], now) is True  # type: ignore[arg-type]
    assert gate.view(_Req(), platform.users.principal("nurse-b"), "natt-b", [], now) is False  # type: ignore[arg-type]
