"""Registry API: every route and every error, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devices.catalogue import CATALOGUE
from devices.quarantine import QuarantinedReading
from devices.sites import closing_instant
from ingest.store import StoredReading
from tests.support.registry_api import BACKENDS, make_api

HOURS = {"mon": {"open": "07:00", "close": "16:00"}, "fri": {"open": "07:00", "close": "14:30"}}


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    yield from make_api(request, tmp_path)


def _site(client: Any, site_id: str = "skola-1", **extra: Any) -> dict[str, Any]:
    body = {"id": site_id, "name": "Solgårdens skola", "municipality": "Exempelby", **extra}
    resp = client.post("/api/v1/sites", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def test_sites_crud_with_opening_hours_and_holidays(api: tuple[Any, Any]) -> None:
    client, platform = api
    created = _site(client, opening_hours=HOURS, holidays=["2026-12-24", "2026-12-24"])
    assert created["opening_hours"] == HOURS
    assert created["holidays"] == ["2026-12-24"]
    _site(client, "bod-7", municipality="Annanby")
    assert client.post("/api/v1/sites", json={"id": "skola-1", "name": "x"}).status_code == 409
    assert [s["id"] for s in client.get("/api/v1/sites").json()] == ["bod-7", "skola-1"]
    only = client.get("/api/v1/sites", params={"municipality": "Annanby"}).json()
    assert [s["id"] for s in only] == ["bod-7"]
    assert client.get("/api/v1/sites/skola-1").json()["municipality"] == "Exempelby"
    assert client.get("/api/v1/sites/nowhere").status_code == 404

    patched = client.patch("/api/v1/sites/skola-1", json={"opening_hours": {"tue": HOURS["mon"]}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["opening_hours"] == {"tue": HOURS["mon"]}
    assert patched.json()["name"] == "Solgårdens skola"
    assert client.patch("/api/v1/sites/nowhere", json={"name": "x"}).status_code == 404
    # the alert rules read the schedule through the registry: a Tuesday closes at 16:00 local
    schedule = platform.registry.site_schedule("skola-1")
    closing = closing_instant(schedule, date(2026, 11, 24))
    assert closing == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert platform.registry.site_schedule("nowhere") is None

    assert client.delete("/api/v1/sites/bod-7").status_code == 204
    assert client.delete("/api/v1/sites/bod-7").status_code == 404


BAD_SITES = [
    ({"opening_hours": {"monday": {"open": "07:00", "close": "16:00"}}}, "weekday"),
    ({"opening_hours": {"mon": {"open": "07:00"}}}, "close"),
    ({"opening_hours": {"mon": {"open": "7 am", "close": "16:00"}}}, "opening_hours"),
    ({"holidays": ["24 december"]}, "date"),
    ({"timezone": "Europe/Nowhere"}, "time zone"),
    ({"id": "has space"}, "pattern"),
    ({"colour": "red"}, "Extra inputs"),
]


def test_bad_site_input_is_422_with_a_reason(api: tuple[Any, Any]) -> None:
    client, _ = api
    for body, reason in BAD_SITES:
        resp = client.post("/api/v1/sites", json={"id": "s1", "name": "S", **body})
        assert resp.status_code == 422, body
        assert reason in resp.text, body
    assert client.get("/api/v1/sites").json() == []


def test_places_and_care_units(api: tuple[Any, Any]) -> None:
    client, _ = api
    _site(client)
    _site(client, "bod-7")
    place = {"id": "kok-frys-2", "site_id": "skola-1", "name": "Kök, frys 2"}
    assert client.post("/api/v1/places", json=place).status_code == 201
    assert client.post("/api/v1/places", json=place).status_code == 409
    assert (
        client.post("/api/v1/places", json={**place, "id": "p2", "site_id": "x"}).status_code == 404
    )
    client.post("/api/v1/places", json={"id": "bod", "site_id": "bod-7", "name": "Bod"})
    listed = client.get("/api/v1/places", params={"site_id": "skola-1"}).json()
    assert [p["id"] for p in listed] == ["kok-frys-2"]
    assert len(client.get("/api/v1/places").json()) == 2
    assert client.get("/api/v1/places/kok-frys-2").json()["name"] == "Kök, frys 2"
    assert client.get("/api/v1/places/nope").status_code == 404

    device = client.post(
        "/api/v1/devices", json={"id": "frys-2", "type": "freezer", "place_id": "kok-frys-2"}
    ).json()
    assert (device["site_id"], device["place"]) == ("skola-1", "Kök, frys 2")
    renamed = client.patch("/api/v1/places/kok-frys-2", json={"name": "Storkök, frys 2"})
    assert renamed.status_code == 200
    assert client.get("/api/v1/devices/frys-2").json()["place"] == "Storkök, frys 2"
    assert client.patch("/api/v1/places/nope", json={"name": "x"}).status_code == 404
    moved = client.patch("/api/v1/devices/frys-2", json={"site_id": "bod-7"})
    assert moved.status_code == 422  # its place is on the other site: say which place to use
    assert "is on site 'skola-1'" in moved.text
    moved = client.patch("/api/v1/devices/frys-2", json={"place_id": "bod"})
    assert (moved.json()["site_id"], moved.json()["place"]) == ("bod-7", "Bod")
    unplaced = client.patch("/api/v1/devices/frys-2", json={"place_id": None, "place": "Förråd"})
    assert (unplaced.json()["site_id"], unplaced.json()["place_id"]) == ("bod-7", None)
    client.patch("/api/v1/devices/frys-2", json={"place_id": "kok-frys-2"})
    assert client.delete("/api/v1/places/kok-frys-2").status_code == 409
    assert client.delete("/api/v1/sites/skola-1").status_code == 409
    assert client.delete("/api/v1/places/bod").status_code == 204
    assert client.delete("/api/v1/places/bod").status_code == 404

    unit = {"id": "hemtjanst-norr", "name": "Hemtjänst Norr", "site_id": "skola-1"}
    assert client.post("/api/v1/care-units", json=unit).status_code == 201
    assert client.post("/api/v1/care-units", json=unit).status_code == 409
    bad_site = client.post("/api/v1/care-units", json={**unit, "id": "u2", "site_id": "x"})
    assert bad_site.status_code == 404
    assert client.post("/api/v1/care-units", json={"id": "u3", "name": "Natt"}).status_code == 201
    assert [u["id"] for u in client.get("/api/v1/care-units").json()] == ["hemtjanst-norr", "u3"]
    assert client.get("/api/v1/care-units/u3").json() == {
        "id": "u3",
        "name": "Natt",
        "site_id": None,
    }
    assert client.get("/api/v1/care-units/nope").status_code == 404
    assert (
        client.patch("/api/v1/care-units/u3", json={"site_id": "bod-7"}).json()["site_id"]
        == "bod-7"
    )
    assert client.patch("/api/v1/care-units/u3", json={"site_id": "x"}).status_code == 404
    assert client.patch("/api/v1/care-units/nope", json={"name": "x"}).status_code == 404
    bed = {"id": "bed-1", "type": "bed_sensor", "care_unit_id": "hemtjanst-norr"}
    assert client.post("/api/v1/devices", json=bed).status_code == 201
    assert (
        client.post("/api/v1/devices", json={**bed, "id": "bed-2", "care_unit_id": "x"}).status_code
        == 404
    )
    assert client.delete("/api/v1/care-units/hemtjanst-norr").status_code == 409
    assert client.delete("/api/v1/care-units/u3").status_code == 204
    assert client.delete("/api/v1/care-units/u3").status_code == 404


BAD_DEVICES = [
    ({"id": "x", "type": "toaster"}, 422, "unknown device type 'toaster'"),
    ({"id": "x", "type": "water_leak", "site_id": "nowhere"}, 404, "site 'nowhere'"),
    ({"id": "x", "type": "water_leak", "place_id": "nowhere"}, 404, "place 'nowhere'"),
    (
        {"id": "x", "type": "water_leak", "place_id": "bod", "site_id": "skola-1"},
        422,
        "is on site",
    ),
    (
        {"id": "x", "type": "water_leak", "refs": [{"source": "ttn", "ref": "EUI-1"}]},
        409,
        "EUI-1",
    ),
    ({"id": "leak-1", "type": "water_leak"}, 409, "exists already"),
    (
        {"id": "x", "type": "water_leak", "refs": [{"source": "ttn", "ref": "a"}] * 2},
        422,
        "twice",
    ),
    (
        {"id": "x", "type": "water_leak", "refs": [{"source": "lora", "ref": "a"}]},
        422,
        "source",
    ),
    ({"id": "a b", "type": "water_leak"}, 422, "pattern"),
    ({"id": "x", "type": "water_leak", "expected_interval_s": 0}, 422, "greater than 0"),
    ({"id": "x", "type": "water_leak", "colour": "red"}, 422, "Extra inputs"),
    ({"type": "water_leak"}, 422, "Field required"),
]


def test_device_create_errors(api: tuple[Any, Any]) -> None:
    client, _ = api
    _site(client)
    _site(client, "bod-7")
    client.post("/api/v1/places", json={"id": "bod", "site_id": "bod-7", "name": "Bod"})
    first = {"id": "leak-1", "type": "water_leak", "refs": [{"source": "ttn", "ref": "EUI-1"}]}
    assert client.post("/api/v1/devices", json=first).status_code == 201
    for body, status, reason in BAD_DEVICES:
        resp = client.post("/api/v1/devices", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert reason in resp.text, body
    assert client.get("/api/v1/devices").json()["total"] == 1


def test_device_list_filters_pagination_and_health(api: tuple[Any, Any]) -> None:
    client, platform = api
    _site(client)
    for i in range(5):
        body = {"id": f"shed-{i}", "type": "technical_shed_temperature", "site_id": "skola-1"}
        assert client.post("/api/v1/devices", json=body).status_code == 201
    client.post(
        "/api/v1/devices",
        json={
            "id": "leak",
            "type": "water_leak",
            "name": "Läcka diskrum",
            "refs": [{"source": "chirpstack", "ref": "A84041000181C5E0"}],
        },
    )
    now = datetime.now(UTC)
    platform.store.write(
        [
            StoredReading("shed-0", now - timedelta(seconds=30), "temperature", 21.5, "Cel"),
            StoredReading("shed-0", now - timedelta(seconds=30), "battery", 87.0, "%EL"),
            StoredReading("shed-0", now - timedelta(seconds=30), "rssi", -97.0, "dBm"),
            StoredReading("shed-1", now - timedelta(hours=2), "temperature", 20.0, "Cel"),
            StoredReading("shed-2", now - timedelta(seconds=60), "temperature", 20.0, "Cel"),
            StoredReading("shed-2", now - timedelta(seconds=10), "online", False, None),
        ]
    )
    page = client.get("/api/v1/devices", params={"limit": 2, "offset": 1}).json()
    assert (page["total"], [d["id"] for d in page["items"]]) == (6, ["shed-0", "shed-1"])
    by_site = client.get("/api/v1/devices", params={"site_id": "skola-1"}).json()
    assert by_site["total"] == 5
    by_type = client.get("/api/v1/devices", params={"type": "water_leak"}).json()
    assert [d["id"] for d in by_type["items"]] == ["leak"]
    for q in ("diskrum", "c5e0", "SHED-3"):
        assert client.get("/api/v1/devices", params={"q": q}).json()["total"] == 1, q

    shed0 = client.get("/api/v1/devices/shed-0").json()
    assert shed0["health"]["status"] == "online"
    assert (shed0["health"]["battery"], shed0["health"]["rssi"]) == (87.0, -97.0)
    assert client.get("/api/v1/devices/shed-1/health").json()["status"] == "offline"
    assert client.get("/api/v1/devices/shed-2/health").json()["status"] == "offline"
    assert client.get("/api/v1/devices/shed-3/health").json()["status"] == "never_seen"
    assert client.get("/api/v1/devices/nope/health").status_code == 404
    online = client.get("/api/v1/devices", params={"health": "online"}).json()
    assert [d["id"] for d in online["items"]] == ["shed-0"]
    offline = client.get("/api/v1/devices", params={"health": "offline", "limit": 1}).json()
    assert (offline["total"], offline["items"][0]["id"]) == (2, "shed-1")
    never = client.get("/api/v1/devices", params={"health": "never_seen"}).json()
    assert never["total"] == 3

    for bad in (
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"state": "broken"},
        {"health": "sleepy"},
    ):
        assert client.get("/api/v1/devices", params=bad).status_code == 422, bad


def test_update_retire_and_latest(api: tuple[Any, Any]) -> None:
    client, platform = api
    _site(client)
    client.post("/api/v1/devices", json={"id": "frys-1", "type": "freezer"})
    client.post(
        "/api/v1/devices",
        json={
            "id": "other",
            "type": "freezer",
            "refs": [{"source": "zigbee2mqtt", "ref": "Frys 9"}],
        },
    )
    patched = client.patch(
        "/api/v1/devices/frys-1",
        json={
            "name": "Frys 1",
            "site_id": "skola-1",
            "place": "Kök",
            "notes": "bakom dörren",
            "refs": [{"source": "zigbee2mqtt", "ref": "Frys kök"}],
            "expected_interval_s": 120,
        },
    )
    assert patched.status_code == 200, patched.text
    d = patched.json()
    assert (d["name"], d["site_id"], d["place"], d["expected_interval_s"]) == (
        "Frys 1",
        "skola-1",
        "Kök",
        120,
    )
    assert {r["ref"] for r in d["refs"]} == {"frys-1", "Frys kök"}
    assert platform.registry.lookup("Frys kök").id == "frys-1"
    # keeping a ref while adding another must not trip the unique constraint
    again = client.patch(
        "/api/v1/devices/frys-1",
        json={
            "refs": [
                {"source": "zigbee2mqtt", "ref": "Frys kök"},
                {"source": "other", "ref": "serial-9"},
            ]
        },
    )
    assert again.status_code == 200, again.text
    for body, status in (
        ({"refs": [{"source": "zigbee2mqtt", "ref": "Frys 9"}]}, 409),
        ({"type": "toaster"}, 422),
        ({"site_id": "nowhere"}, 404),
        ({"state": "broken"}, 422),
        ({"installed_at": "2020-01-01T00:00:00Z"}, 422),
    ):
        assert client.patch("/api/v1/devices/frys-1", json=body).status_code == status, body
    assert client.patch("/api/v1/devices/nope", json={"name": "x"}).status_code == 404
    assert client.get("/api/v1/devices/nope").status_code == 404

    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    platform.store.write([StoredReading("frys-1", at, "temperature", -19.5, "Cel")])
    latest = client.get("/api/v1/devices/frys-1/latest").json()
    assert latest == [
        {"metric": "temperature", "value": -19.5, "unit": "Cel", "time": "2026-11-20T12:00:00Z"}
    ]
    assert client.get("/api/v1/devices/nope/latest").status_code == 404

    retired = client.post("/api/v1/devices/frys-1/retire")
    assert retired.status_code == 200
    assert retired.json()["state"] == "retired"
    assert retired.json()["retired_at"]
    assert platform.registry.lookup("Frys kök").state == "retired"
    assert client.post("/api/v1/devices/nope/retire").status_code == 404
    # history is kept, and a retired device can be listed by state
    assert client.get("/api/v1/devices/frys-1/latest").json()[0]["value"] == -19.5
    assert client.get("/api/v1/devices", params={"state": "retired"}).json()["total"] == 1
    creds = client.post("/api/v1/devices/frys-1/mqtt-credentials")
    assert creds.status_code == 409
    assert "retired" in creds.text
    back = client.patch("/api/v1/devices/frys-1", json={"state": "active"}).json()
    assert back["retired_at"] is None


def test_embedded_broker_issues_hashed_logins_that_follow_the_device(
    api: tuple[Any, Any],
) -> None:
    client, platform = api
    resp = client.post(
        "/api/v1/devices",
        json={
            "id": "bod-3",
            "type": "technical_shed_temperature",
            "refs": [{"source": "zigbee2mqtt", "ref": "bod-3-z2m"}],
            "issue_mqtt_credentials": True,
        },
    )
    assert resp.status_code == 201, resp.text
    creds = resp.json()["mqtt_credentials"]
    assert creds["username"] == "dev-bod-3"
    assert "zigbee2mqtt/bod-3-z2m" in creds["publish_topics"]
    accounts = platform.mqtt_accounts
    grant = accounts.login(creds["username"], creds["password"])
    assert grant is not None
    assert grant.may_publish("kv/bod-3/up")
    assert grant.may_publish("zigbee2mqtt/bod-3-z2m")
    assert not grant.may_publish("kv/bod-4/up")
    assert not grant.may_publish("kv/supervision/r1/check")
    assert not grant.may_subscribe("#")
    assert accounts.login(creds["username"], creds["password"] + "x") is None
    from devices.mqtt_accounts import MqttAccountRow

    with platform.sessions() as s:  # only a hash is kept
        stored = s.get(MqttAccountRow, "dev-bod-3").password_hash
    assert creds["password"] not in stored
    assert stored.startswith("$argon2id$")
    # a retired device may not log in any more
    client.post("/api/v1/devices/bod-3/retire")
    assert accounts.login(creds["username"], creds["password"]) is None


@pytest.fixture
def external_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    yield from make_api(request, tmp_path, mqtt_url="mqtt://gw:gw-password@127.0.0.1:1")


def test_mqtt_credentials_need_dynamic_security(external_api: tuple[Any, Any]) -> None:
    client, _ = external_api
    resp = client.post(
        "/api/v1/devices",
        json={"id": "shed", "type": "technical_shed_temperature", "issue_mqtt_credentials": True},
    )
    assert resp.status_code == 409
    assert "KOMMUNVAKT_DYNSEC_URL" in resp.text
    assert client.get("/api/v1/devices/shed").status_code == 404  # nothing half-created
    client.post("/api/v1/devices", json={"id": "shed", "type": "technical_shed_temperature"})
    assert client.post("/api/v1/devices/shed/mqtt-credentials").status_code == 409
    assert client.post("/api/v1/devices/nope/mqtt-credentials").status_code == 404


def test_claim_ingests_the_last_24_hours(api: tuple[Any, Any]) -> None:
    client, platform = api
    _site(client)
    now = datetime.now(UTC)
    ref = "A84041000181C5E0"
    old = now - timedelta(hours=30)
    for received, value in ((old, 18.0), (now - timedelta(minutes=10), 31.5), (now, 32.0)):
        platform.quarantine.record(
            ref,
            "chirpstack",
            f"application/1/device/{ref.lower()}/event/up",
            b'{"t": 1}',
            [QuarantinedReading(ref, received, "temperature", value, "Cel")],
            received,
        )
    unknown = client.get("/api/v1/unknown-devices").json()
    assert [(u["ref"], u["messages"]) for u in unknown] == [(ref, 3)]

    assert (
        client.post("/api/v1/unknown-devices/nope/claim", json={"type": "water_leak"}).status_code
        == 404
    )
    bad = client.post(f"/api/v1/unknown-devices/{ref}/claim", json={"type": "toaster"})
    assert bad.status_code == 422
    assert client.get("/api/v1/unknown-devices").json()[0]["ref"] == ref  # still waiting
    assert (
        client.post(
            f"/api/v1/unknown-devices/{ref}/claim", json={"type": "water_leak", "site_id": "x"}
        ).status_code
        == 404
    )

    claimed = client.post(
        f"/api/v1/unknown-devices/{ref}/claim",
        json={"type": "technical_shed_temperature", "site_id": "skola-1", "place": "Bod 3"},
    )
    assert claimed.status_code == 201, claimed.text
    body = claimed.json()
    assert body["ingested_readings"] == 2  # the 30-hour-old one is past the window
    assert body["device"]["id"] == ref
    assert body["device"]["refs"] == [{"source": "chirpstack", "ref": ref}]
    assert body["device"]["installed_by"] == "admin"
    assert platform.registry.lookup(ref).id == ref
    latest = client.get(f"/api/v1/devices/{ref}/latest").json()
    assert [(v["metric"], v["value"]) for v in latest] == [("temperature", 32.0)]
    assert client.get("/api/v1/unknown-devices").json() == []
    # the claimed readings went through the rules: the shed is too hot (above 30 °C)
    alerts = platform.alerts.list("active")
    assert [(a.device_id, a.rule, a.severity) for a in alerts] == [
        (ref, "shed_too_hot", "critical")
    ]
    assert (
        client.post(f"/api/v1/unknown-devices/{ref}/claim", json={"type": "water_leak"}).status_code
        == 404
    )


def test_claim_of_a_ref_that_is_no_valid_id(api: tuple[Any, Any]) -> None:
    client, platform = api
    now = datetime.now(UTC)
    platform.quarantine.record(
        "Frys / kök 2",
        "zigbee2mqtt",
        "zigbee2mqtt/Frys / kök 2",
        b"{}",
        [QuarantinedReading("Frys / kök 2", now, "door_open", True, None)],
        now,
    )
    client.post("/api/v1/devices", json={"id": "taken", "type": "freezer"})
    clash = client.post(
        "/api/v1/unknown-devices/Frys / kök 2/claim", json={"type": "freezer", "id": "taken"}
    )
    assert clash.status_code == 409
    ok = client.post("/api/v1/unknown-devices/Frys / kök 2/claim", json={"type": "freezer"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["device"]["id"] == "Frys-k-k-2"
    assert platform.registry.lookup("Frys / kök 2").id == "Frys-k-k-2"


def test_device_types_name_metrics_units_and_intervals(api: tuple[Any, Any]) -> None:
    client, _ = api
    types = {t["key"]: t for t in client.get("/api/v1/device-types").json()}
    wanted = {
        "technical_shed_temperature": {"temperature"},
        "freezer": {"door_open", "temperature"},
        "water_leak": {"water_leak"},
        "bed_sensor": {"in_bed"},
        "motion": {"motion"},
        "room_climate": {"temperature", "humidity", "co2"},
        "waste_bin": {"fill_level"},
        "premises_alarm": {"armed"},
        "safety_alarm": {"alarm_button"},
    }
    for key, metrics in wanted.items():
        t = types[key]
        assert metrics <= set(t["metrics"]), key
        assert set(t["units"]) == set(t["metrics"]), key
        assert t["expected_interval_s"] > 0
        assert t["name_sv"]
        assert t["name_en"]
    assert types["room_climate"]["units"]["co2"] == "ppm"
    assert types["technical_shed_temperature"]["units"]["temperature"] == "Cel"
    assert set(types) == set(CATALOGUE)


def test_every_route_wants_a_token(api: tuple[Any, Any]) -> None:
    client, _ = api
    for method, path in (
        ("GET", "/api/v1/devices"),
        ("POST", "/api/v1/devices"),
        ("GET", "/api/v1/sites"),
        ("GET", "/api/v1/places"),
        ("GET", "/api/v1/care-units"),
        ("GET", "/api/v1/unknown-devices"),
        ("POST", "/api/v1/unknown-devices/x/claim"),
        ("GET", "/api/v1/devices/export"),
        ("POST", "/api/v1/devices/import"),
    ):
        resp = client.request(method, path, headers={"Authorization": "Bearer wrong-token"})
        assert resp.status_code == 401, (method, path)


def test_sensor_types_from_the_settings(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from devices import catalogue

    spec = {
        "key": "door_contact_extra",
        "name_sv": "Dörrkontakt",
        "name_en": "Door contact",
        "metrics": ["door_open", "battery"],
        "expected_interval_s": 3600,
    }
    try:
        for client, _platform in make_api(request, tmp_path, device_types=[spec]):
            types = {t["key"]: t for t in client.get("/api/v1/device-types").json()}
            assert types["door_contact_extra"]["units"] == {"door_open": None, "battery": "%EL"}
            resp = client.post("/api/v1/devices", json={"id": "d1", "type": "door_contact_extra"})
            assert resp.status_code == 201
            assert resp.json()["expected_interval_s"] == 3600
    finally:
        catalogue._BY_KEY.pop("door_contact_extra", None)


def test_a_technician_sees_and_places_devices_only_on_their_sites(api: tuple[Any, Any]) -> None:
    from access import admin

    client, platform = api
    _site(client)
    _site(client, "bod-7")
    for device_id, site in (("a-1", "skola-1"), ("b-1", "bod-7"), ("c-1", None)):
        body = {"id": device_id, "type": "water_leak", "site_id": site}
        assert client.post("/api/v1/devices", json=body).status_code == 201
    user = {
        "username": "tek-norr",
        "role": "technician",
        "password": "en lång lösenfras 42",
        "sites": ["skola-1"],
    }
    assert client.post("/api/v1/users", json=user).status_code == 201
    token, _info = admin.create_token(
        client.app.state.users, platform.audit, "admin", datetime.now(UTC), "tek-norr", "cli"
    )
    tek = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/devices", headers=tek).json()
    assert (listed["total"], [d["id"] for d in listed["items"]]) == (1, ["a-1"])
    # another site's device (or one on no site) by id: refused by the central scope check
    assert client.get("/api/v1/devices/b-1", headers=tek).status_code == 403
    assert client.get("/api/v1/devices/c-1/latest", headers=tek).status_code == 403
    assert client.post("/api/v1/devices/b-1/retire", headers=tek).status_code == 403
    assert client.get("/api/v1/devices/nope-9", headers=tek).status_code == 404
    elsewhere = {"id": "x-1", "type": "water_leak", "site_id": "bod-7"}
    assert client.post("/api/v1/devices", json=elsewhere, headers=tek).status_code == 403
    here = {"id": "x-2", "type": "water_leak", "site_id": "skola-1"}
    assert client.post("/api/v1/devices", json=here, headers=tek).status_code == 201
    moved = client.patch("/api/v1/devices/x-2", json={"site_id": "bod-7"}, headers=tek)
    assert moved.status_code == 403
    assert client.get("/api/v1/devices", params={"limit": 10}).json()["total"] == 4  # admin


def test_a_known_ref_is_not_listed_as_unknown(api: tuple[Any, Any]) -> None:
    client, platform = api
    client.post("/api/v1/devices", json={"id": "frys-1", "type": "freezer"})
    now = datetime.now(UTC)
    # what a message in flight during the claim leaves behind
    platform.quarantine.record(
        "frys-1", "native", "kv/frys-1/up", b"{}",
        [QuarantinedReading("frys-1", now, "door_open", True, None)], now,
    )  # fmt: skip
    platform.quarantine.record(
        "frys-9", "native", "kv/frys-9/up", b"{}",
        [QuarantinedReading("frys-9", now, "door_open", True, None)], now,
    )  # fmt: skip
    assert [u["ref"] for u in client.get("/api/v1/unknown-devices").json()] == ["frys-9"]
