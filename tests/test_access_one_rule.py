"""The one scope rule (``access.scope``), proven on the running app over HTTP: a regression
test per finding, on the two-site world of ``tests.support.two_sites``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.pipeline import Inbound
from ingest.care_store import CARE_FILE, CareSplitStore
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import StoredReading
from tests.support import two_sites
from tests.support.postgres import pg_cluster  # noqa: F401  (session-wide PostgreSQL)
from tests.support.two_sites import CARE_TEXT, signed_in

api, world = two_sites.api, two_sites.world  # the fixtures of the two-site world


# -- start page: one rule for care alerts --------------------------------------------------


@pytest.mark.parametrize("username", ["fastighet-a", "tittare", "tekniker-alla"])
def test_start_page_shows_no_care_alert_to_roles_without_care_read(
    world: dict[str, Any], username: str
) -> None:
    client = signed_in(world["admin"], username)
    page = client.get("/")
    assert page.status_code == 200
    assert "Tyst skola-a" in page.text  # building alerts of their sites are there
    assert CARE_TEXT not in page.text
    alerts = client.get("/alerts")
    assert CARE_TEXT not in alerts.text


def test_start_page_shows_care_alerts_of_the_own_unit_only(world: dict[str, Any]) -> None:
    page = signed_in(world["admin"], "natt-a").get("/")
    assert f"{CARE_TEXT} skola-a" in page.text
    assert f"{CARE_TEXT} skola-b" not in page.text


# -- CSV import: every row scope-checked ------------------------------------------------------


def _import(world: dict[str, Any], csv: str, dry_run: bool) -> Any:
    return world["admin"].post(
        f"/api/v1/devices/import?dry_run={str(dry_run).lower()}",
        content=csv.encode(),
        headers={**world["users"]["tech_a"], "Content-Type": "text/csv"},
    )


def test_csv_import_refuses_rows_outside_the_callers_sites(world: dict[str, Any]) -> None:
    csv = "id;type;site_id\nny-1;water_leak;skola-b\n"
    dry = _import(world, csv, True)
    assert dry.status_code == 200
    assert [e["line"] for e in dry.json()["errors"]] == [2]
    assert "outside your scope" in dry.json()["errors"][0]["reason"]
    real = _import(world, csv, False)
    assert real.status_code == 422
    assert world["admin"].get("/api/v1/devices/ny-1").status_code == 404
    ok = _import(world, "id;type;site_id\nny-2;water_leak;skola-a\n", False)
    assert ok.status_code == 200, ok.text
    assert ok.json()["imported"] == 1


def test_csv_dry_run_does_not_reveal_what_exists_on_other_sites(world: dict[str, Any]) -> None:
    csv = (
        "id;type;site_id;place_id;refs\n"
        "temp-skola-b;water_leak;skola-a;;\n"  # an id taken on site B
        "ny-3;water_leak;;plats-skola-b;\n"  # a place of site B
        "ny-4;water_leak;;no-such-place;\n"  # a place nowhere
        "ny-5;water_leak;skola-a;;bed-skola-b\n"  # a ref taken on site B
        "ny-6;water_leak;skola-a;;\n"
    )
    body = _import(world, csv, True).json()
    reasons = {e["line"]: e["reason"] for e in body["errors"]}
    assert sorted(reasons) == [2, 3, 4, 5]
    text = " ".join(reasons.values())
    for leak in ("exists", "'skola-b'", "does not exist", "belongs to"):
        assert leak not in text, text
    assert reasons[3] == reasons[4].replace("no-such-place", "plats-skola-b")


# -- care-ness cannot be changed by a technician, care readings stay care ---------------------


def test_technician_cannot_retype_a_bed_sensor(world: dict[str, Any]) -> None:
    admin, tech = world["admin"], world["users"]["tech_a"]
    resp = admin.patch("/api/v1/devices/bed-skola-a", json={"type": "motion"}, headers=tech)
    assert resp.status_code == 403
    resp = admin.patch("/api/v1/devices/bed-skola-a", json={"care_unit_id": None}, headers=tech)
    assert resp.status_code == 403
    assert admin.get("/api/v1/devices/bed-skola-a").json()["type"] == "bed_sensor"


def test_a_care_device_never_becomes_telemetry(world: dict[str, Any]) -> None:
    admin = world["admin"]
    resp = admin.patch("/api/v1/devices/bed-skola-a", json={"type": "motion", "care_unit_id": None})
    assert resp.status_code == 409, resp.text
    assert "stays care data" in resp.json()["detail"]


def test_care_readings_stay_in_the_care_store_whatever_the_registry_says(
    world: dict[str, Any],
) -> None:
    platform = world["platform"]
    store = platform.store
    t = datetime.now(UTC)
    store.write([StoredReading("bed-skola-a", t, "in_bed", True)])
    # a motion sensor that was in a care unit: taken out by the care administrator
    admin = world["admin"]
    body = {"id": "rorelse-1", "type": "motion", "site_id": "skola-a", "care_unit_id": "natt-a"}
    assert admin.post("/api/v1/devices", json=body).status_code == 201
    store.write([StoredReading("rorelse-1", t, "motion", True)])
    moved = admin.patch("/api/v1/devices/rorelse-1", json={"care_unit_id": None})
    assert moved.status_code == 409  # a care device stays care
    store.write([StoredReading("rorelse-1", t + timedelta(seconds=1), "motion", False)])
    assert "rorelse-1" not in store.telemetry.device_ids()
    assert "bed-skola-a" not in store.telemetry.device_ids()
    fac = world["users"]["fac_a"]
    history = admin.get("/api/v1/devices/rorelse-1/history?metric=motion", headers=fac)
    assert history.status_code == 403


def test_the_care_store_keeps_a_device_whatever_the_registry_says_later(tmp_path: Path) -> None:
    """Once care, always care: a registry that stops calling a device care (any way it could
    happen) does not send its next readings, nor reads of its history, to telemetry."""
    telemetry = SqliteReadingStore(tmp_path / "readings.db")
    care = SqliteReadingStore(tmp_path / CARE_FILE)
    registry_says = {"bed-1": True}
    store = CareSplitStore(telemetry, care, lambda d: registry_says.get(d, False))
    t = datetime.now(UTC)
    store.write([StoredReading("bed-1", t, "in_bed", True)])
    registry_says["bed-1"] = False  # re-typed, taken out of its care unit
    store.write([StoredReading("bed-1", t + timedelta(seconds=1), "in_bed", False)])
    assert telemetry.device_ids() == set()
    assert [r.value for r in store.history("bed-1", "in_bed", t, t + timedelta(seconds=2))] == [
        True,
        False,
    ]
    # and after a restart, from what the care store holds
    again = CareSplitStore(telemetry, care, lambda _d: False)
    again.write([StoredReading("bed-1", t + timedelta(seconds=2), "in_bed", True)])
    assert telemetry.device_ids() == set()
    store.close()


def test_motion_in_a_care_unit_is_care_data(world: dict[str, Any]) -> None:
    admin, fac = world["admin"], world["users"]["fac_a"]
    body = {"id": "rorelse-2", "type": "motion", "site_id": "skola-a", "care_unit_id": "natt-a"}
    assert admin.post("/api/v1/devices", json=body).status_code == 201
    t = datetime.now(UTC)
    world["platform"].store.write([StoredReading("rorelse-2", t, "motion", True)])
    assert "rorelse-2" not in world["platform"].store.telemetry.device_ids()
    latest = admin.get("/api/v1/devices/rorelse-2/latest", headers=fac).json()
    assert [v["metric"] for v in latest] == []  # health only: a motion sensor has none here
    assert (
        admin.get("/api/v1/devices/rorelse-2/history?metric=motion", headers=fac).status_code == 403
    )


# -- technicians stay in their sites and care units -------------------------------------------


def test_technician_cannot_move_or_claim_into_another_site(world: dict[str, Any]) -> None:
    admin, platform, tech = world["admin"], world["platform"], world["users"]["tech_a"]
    moved = admin.patch(
        "/api/v1/devices/temp-skola-a", json={"place_id": "plats-skola-b"}, headers=tech
    )
    assert moved.status_code == 403
    assert admin.get("/api/v1/devices/temp-skola-a").json()["site_id"] == "skola-a"
    now = datetime.now(UTC)
    platform.quarantine.record("okand-1", "native", "kv/okand-1/up", b"{}", [], now)
    claim = admin.post(
        "/api/v1/unknown-devices/okand-1/claim",
        json={"type": "water_leak", "place_id": "plats-skola-b"},
        headers=tech,
    )
    assert claim.status_code == 403
    created = admin.post(
        "/api/v1/devices",
        json={"id": "ny-7", "type": "water_leak", "place_id": "plats-skola-b"},
        headers=tech,
    )
    assert created.status_code == 403


def test_technician_cannot_attach_another_sites_care_unit(world: dict[str, Any]) -> None:
    admin, tech = world["admin"], world["users"]["tech_a"]
    resp = admin.patch(
        "/api/v1/devices/temp-skola-a", json={"care_unit_id": "natt-b"}, headers=tech
    )
    assert resp.status_code == 403
    assert admin.get("/api/v1/devices/temp-skola-a").json()["care_unit_id"] is None
    own = admin.post(
        "/api/v1/devices",
        json={"id": "ny-8", "type": "bed_sensor", "site_id": "skola-a", "care_unit_id": "natt-a"},
        headers=tech,
    )
    assert own.status_code == 201, own.text


# -- dead letters and unknown devices by site; multi-device payloads --------------------------


def test_dead_letters_are_listed_by_site(world: dict[str, Any]) -> None:
    admin = world["admin"]
    mine = admin.get("/api/v1/dead-letters", headers=world["users"]["tech_a"]).json()
    assert [d["topic"] for d in mine] == ["kv/temp-skola-a/up"]
    every = admin.get("/api/v1/dead-letters", headers=world["users"]["tech_all"]).json()
    assert len(every) == 2


def test_unknown_devices_payloads_are_not_shown_to_a_site_limited_technician(
    world: dict[str, Any],
) -> None:
    admin, platform = world["admin"], world["platform"]
    payload = b'{"in_bed": true}'
    topic = "zigbee2mqtt/Rum 12 A.K."
    platform.quarantine.record("okand-2", "zigbee2mqtt", topic, payload, [], datetime.now(UTC))
    mine = admin.get("/api/v1/unknown-devices", headers=world["users"]["tech_a"]).json()
    assert [u["ref"] for u in mine] == ["okand-2"]  # to claim it into site A
    assert "in_bed" not in str(mine)
    assert "Rum 12" not in str(mine)
    page = signed_in(admin, "tekniker-a").get("/devices")
    assert "okand-2" in page.text
    assert "in_bed" not in page.text
    assert admin.get("/api/v1/unknown-devices", headers=world["users"]["fac_a"]).json() == []
    every = admin.get("/api/v1/unknown-devices", headers=world["users"]["tech_all"]).json()
    assert [u["last_payload"] for u in every] == [payload.decode()]


def test_a_senml_pack_with_a_care_device_keeps_no_payload(world: dict[str, Any]) -> None:
    """A SenML gateway topic names the gateway; ``bn`` names each device inside."""
    platform, now = world["platform"], datetime.now(UTC)
    bed = {"bn": "bed-skola-a:", "n": "in_bed", "vb": True}
    stranger = {"bn": "okand-3:", "n": "temperature", "u": "Cel", "v": 21.0}
    broken = {"bn": "temp-skola-a:", "n": "temperature", "u": "Cel", "v": "varmt"}
    platform.pipeline.process(
        [
            Inbound("senml/gw-1", orjson.dumps([bed, stranger]), 3, 1, now),
            Inbound("senml/gw-1", orjson.dumps([bed, broken]), 4, 1, now),
        ]
    )
    unknown = {u.ref: u for u in platform.quarantine.list_unknown()}
    assert not unknown["okand-3"].last_payload  # it travelled with a bed sensor's in_bed
    letters = platform.dead_letters.list()
    refused = [d for d in letters if d.topic == "senml/gw-1"]
    assert len(refused) == 1
    assert refused[0].payload == ""
    assert "in_bed" not in refused[0].reason


# -- docs and lists of care units ------------------------------------------------------------


def test_api_description_needs_sign_in_and_swagger_ui_is_served_locally(
    world: dict[str, Any],
) -> None:
    anonymous = TestClient(world["admin"].app, follow_redirects=False)
    assert anonymous.get("/openapi.json").status_code == 401
    assert anonymous.get("/docs").status_code == 303
    viewer = world["users"]["viewer_all"]
    assert anonymous.get("/openapi.json", headers=viewer).json()["openapi"].startswith("3.")
    page = signed_in(world["admin"], "tittare").get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    styles = re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', page.text)
    assert scripts
    assert styles
    for url in scripts + styles:
        assert url.startswith("/docs/assets/"), url  # never a CDN
        asset = anonymous.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url


def test_care_unit_lists_show_only_the_callers_units(world: dict[str, Any]) -> None:
    admin, users = world["admin"], world["users"]
    units = admin.get("/api/v1/care-units", headers=users["tech_a"]).json()
    assert [u["id"] for u in units] == ["natt-a"]
    assert admin.get("/api/v1/care-units/natt-b", headers=users["tech_a"]).status_code == 403
    counts = admin.get("/api/v1/supervision/counts", headers=users["night_a"])
    assert set(counts.json()) <= {"natt-a"}
    assert admin.get("/api/v1/care-units", headers=users["viewer_all"]).json() != []


def test_effective_rules_of_another_sites_device_are_not_shown(world: dict[str, Any]) -> None:
    admin, tech = world["admin"], world["users"]["tech_a"]
    theirs = admin.get("/api/v1/rules/effective?device_id=temp-skola-b", headers=tech)
    assert theirs.status_code == 404
    mine = admin.get("/api/v1/rules/effective?device_id=temp-skola-a", headers=tech)
    assert mine.status_code == 200


def test_alerts_page_site_filter_lists_only_the_users_sites(world: dict[str, Any]) -> None:
    page = signed_in(world["admin"], "fastighet-a").get("/alerts")
    assert page.status_code == 200
    assert 'value="skola-a"' in page.text
    assert 'value="skola-b"' not in page.text
