"""Erasing a resident reaches every copy: checks and their notes, the alerts raised for the
resident's checks (message, history and notes), the notifications about them (sent or still
queued), and the readings of their bed sensor. Afterwards every table of every database in the
data directory is searched for the label and the id; the id may stay only in the audit log
(pseudonymous, hash-chained; see docs/night-supervision.md)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from ingest.store import StoredReading
from supervision.schedule import instant, night_of
from tests.support.alert_sinks import JsonSink
from tests.support.clock import ShiftedClock
from tests.support.net import free_port, wait_for
from tests.support.platform import TOKEN

STHLM = ZoneInfo("Europe/Stockholm")
API = "/api/v1/supervision"
LABEL = "Rum 12, A.K."
NOTE = "A.K. satt på sängkanten"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    sink = JsonSink().start()
    night = night_of(datetime.now(UTC), STHLM)
    due = instant(night + timedelta(days=1), time(2, 0), STHLM)
    clock = ShiftedClock(due - timedelta(minutes=5))
    tags = ["care_unit:natt-x", "role:night_staff"]
    settings = load_settings(
        data_dir=tmp_path / "data",
        admin_token=TOKEN,
        alerting={
            "recipients": [
                {"name": "Natt X", "url": sink.url("natt"), "tags": tags},
                # a channel that is down: its messages wait in the outbox, label and all
                {"name": "Natt X sms", "url": f"json://127.0.0.1:{free_port()}/", "tags": tags},
            ],
            "retry_first_s": 60,
        },
    )
    platform = Platform(settings, clock=clock)
    platform.start(mqtt=False)
    try:
        with TestClient(create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            yield {"platform": platform, "api": c, "clock": clock, "due": due, "night": night,
                   "sink": sink, "data": tmp_path / "data"}  # fmt: skip
    finally:
        platform.stop()
        sink.stop()


def _every_row(data: Path) -> list[tuple[str, str, str]]:
    """(database file, table, row as text) for every row of every SQLite file in data."""
    rows = []
    for db in sorted(data.rglob("*.db")):
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            tables = [
                t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 (our own names)
                    rows.append((db.name, table, repr(row)))
        finally:
            conn.close()
    return rows


def test_erasure_reaches_every_copy(world: dict[str, Any]) -> None:
    api: TestClient = world["api"]
    platform: Platform = world["platform"]
    assert api.post("/api/v1/care-units", json={"id": "natt-x", "name": "X"}).is_success
    made = api.post(f"{API}/residents", json={"label": LABEL, "care_unit_id": "natt-x"})
    rid = made.json()["id"]
    for scope in (["camera"], ["sensor"]):
        api.post(
            f"{API}/residents/{rid}/consents",
            json={"party": "resident", "scope": scope, "given_on": "2026-01-01"},
        )
    bed = {"id": "bed-x1", "type": "bed_sensor", "care_unit_id": "natt-x"}
    assert api.post("/api/v1/devices", json=bed).status_code == 201, "bed sensor"
    assert api.post(f"{API}/residents/{rid}/sensors", json={"device_id": "bed-x1"}).is_success
    schedule = {"method": "camera", "times": ["02:00"], "valid_from": world["night"].isoformat()}
    assert api.post(f"{API}/residents/{rid}/schedules", json=schedule).status_code == 201
    now = platform.clock()
    platform.store.write([StoredReading("bed-x1", now, "in_bed", True)])
    assert platform.care_readings.readings_of("bed-x1", now - timedelta(hours=1))

    # 02:00: not seen (with a note), so an alert with the label goes out to the night staff
    world["clock"].jump_to(world["due"])
    check = platform.supervision.checks.of_resident(rid)[0]
    seen = api.post(f"{API}/checks/{check.id}/outcome", json={"outcome": "not_seen", "note": NOTE})
    assert seen.status_code == 200, seen.text
    alerts = platform.alerts.list(device_id=f"sv-check-{check.id}", origin="external", limit=10)
    assert alerts
    assert LABEL in (alerts[0].message or "")
    acked = api.post(f"/api/v1/alerts/{alerts[0].id}/ack", json={"note": f"{LABEL} tittar"})
    assert acked.status_code == 200, acked.text
    wait_for(lambda: world["sink"].at("natt"), what="the night staff's message")
    before = [r for r in _every_row(world["data"]) if LABEL in r[2] or "A.K." in r[2]]
    assert {table for _db, table, _row in before} >= {"alerts", "alert_outbox", "sv_residents"}

    assert api.delete(f"{API}/residents/{rid}").status_code == 204

    left = _every_row(world["data"])
    assert [(db, table) for db, table, row in left if "A.K." in row] == []
    assert [r for r in left if "Rum 12" in r[2]] == []
    assert [r for r in left if NOTE in r[2]] == []
    # the pseudonymous id stays in the audit log only (who looked, who acted: the log review)
    with_id = {(db, table) for db, table, row in left if rid in row}
    assert with_id <= {("kommunvakt.db", "audit_log")}, with_id
    assert not [r for r in left if f"sv-check-{check.id}'" in r[2]]
    assert platform.care_readings.readings_of("bed-x1", now - timedelta(hours=1)) == []
    assert platform.audit.verify()
