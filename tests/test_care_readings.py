"""Care devices' readings kept apart (issue 6, "Separation"): a bed sensor's ``in_bed`` goes to
``care_readings.db``, never to the telemetry store; it is still read through the platform's
store (API, supervision), kept only as long as the check records, and erased with the
resident it was bound to. Real SQLite files, the real pipeline and API, in process."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.pipeline import Inbound
from gateway.platform import Platform
from gateway.settings import load_settings
from gateway.stores import spool_metrics, spool_of
from ingest.care_store import CARE_FILE, CareSplitStore
from ingest.errors import StoreError
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import StoredReading
from tests.support.platform import TOKEN

API = "/api/v1/supervision"
T0 = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)


def devices_in(path: Path) -> set[str]:
    """Device ids with a reading in a reading-store file, read behind the platform's back."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {r[0] for r in db.execute("SELECT DISTINCT device_id FROM readings")}


def uplink(device: str, values: dict[str, Any], at: datetime, mid: int) -> Inbound:
    body = orjson.dumps({"time": at.isoformat(), "values": values})
    return Inbound(f"kv/{device}/up", body, mid, 1, at)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A platform on SQLite with a shed sensor and a bed sensor (no start: the test drives the
    pipeline and the clock itself)."""
    clock = Clock(T0)
    settings = load_settings(data_dir=tmp_path / "data", admin_token=TOKEN)
    platform = Platform(settings, clock=clock)
    with TestClient(create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        assert c.post("/api/v1/sites", json={"id": "vallmon", "name": "Vallmon"}).status_code == 201
        unit = {"id": "natt-1", "name": "Natt 1", "site_id": "vallmon"}
        assert c.post("/api/v1/care-units", json=unit).status_code == 201
        for body in (
            {"id": "shed-1", "type": "technical_shed_temperature", "site_id": "vallmon"},
            {"id": "bed-1", "type": "bed_sensor", "care_unit_id": "natt-1"},
        ):
            assert c.post("/api/v1/devices", json=body).status_code == 201
        yield {"platform": platform, "client": c, "clock": clock, "data": tmp_path / "data"}
    platform.stop()


def resident_with_bed(client: TestClient, label: str = "Lgh 1, A.A.") -> tuple[str, str]:
    """A resident whose sensor consent is recorded and who lies in bed-1: only then may what
    the bed sensor says about them be kept. Returns (resident id, consent id)."""
    rid = client.post(f"{API}/residents", json={"label": label, "care_unit_id": "natt-1"})
    assert rid.status_code == 201, rid.text
    resident = rid.json()["id"]
    consent = {"party": "resident", "scope": ["sensor"], "given_on": "2026-11-01"}
    given = client.post(f"{API}/residents/{resident}/consents", json=consent)
    assert given.status_code == 201, given.text
    bound = client.post(f"{API}/residents/{resident}/sensors", json={"device_id": "bed-1"})
    assert bound.status_code == 201, bound.text
    return resident, given.json()["id"]


@pytest.fixture
def bound(world: dict[str, Any]) -> dict[str, Any]:
    """The world with bed-1 bound to a consenting resident."""
    world["resident"], world["consent"] = resident_with_bed(world["client"])
    return world


# -- the stores ----------------------------------------------------------------------------


def test_sqlite_store_erases_prunes_and_lists_a_device(tmp_path: Path) -> None:
    store = SqliteReadingStore(tmp_path / "care.db", secure_delete=True)
    hour = timedelta(hours=1)
    store.write(
        [StoredReading("bed-1", T0 + i * hour, "in_bed", i % 2 == 0) for i in range(4)]
        + [StoredReading("bed-1", T0 + 3 * hour, "battery", 80.0, "%EL")]
        + [StoredReading("bed-2", T0 - 50 * hour, "in_bed", True)]
        + [StoredReading("bed-2", T0 - 50 * hour, "note", "SECRET-MARKER-0001")]
    )
    assert [(r.metric, r.time) for r in store.readings_of("bed-1", T0 + 2 * hour)] == [
        ("in_bed", T0 + 2 * hour),
        ("battery", T0 + 3 * hour),
        ("in_bed", T0 + 3 * hour),
    ]
    assert store.device_ids() == {"bed-1", "bed-2"}
    assert store.last_seen() == {"bed-1": T0 + 3 * hour, "bed-2": T0 - 50 * hour}
    # erasing from the second hour on: the latest values fall back to what is left
    assert store.erase("bed-1", T0 + 1 * hour) == 4
    assert [(v.metric, v.value, v.time) for v in store.latest("bed-1")] == [("in_bed", True, T0)]
    assert store.erase("bed-1", T0 - hour, T0 + hour) == 1
    assert store.latest("bed-1") == []
    # retention: older than the cut, readings and latest values alike
    assert store.prune(T0 - 49 * hour) == 2
    assert store.latest("bed-2") == []
    assert store.count() == 0
    store.close()
    # secure_delete: what was erased is not left in the file's free pages
    for f in tmp_path.iterdir():
        assert b"SECRET-MARKER-0001" not in f.read_bytes(), f


def test_split_store_routes_by_device_and_a_failing_part_fails_the_batch(
    tmp_path: Path,
) -> None:
    telemetry = SqliteReadingStore(tmp_path / "readings.db")
    care = SqliteReadingStore(tmp_path / CARE_FILE)
    asked: list[str] = []

    def is_care(device_id: str) -> bool:
        asked.append(device_id)
        return device_id.startswith("bed-")

    store = CareSplitStore(telemetry, care, is_care)
    store.write(
        [StoredReading("shed-1", T0 + timedelta(seconds=i), "temperature", 20.0) for i in range(50)]
        + [StoredReading("bed-1", T0, "in_bed", True)]
    )
    assert sorted(asked) == ["bed-1", "shed-1"]  # once per device and batch, not per reading
    assert devices_in(tmp_path / "readings.db") == {"shed-1"}
    assert devices_in(tmp_path / CARE_FILE) == {"bed-1"}
    assert [(v.metric, v.value) for v in store.latest("bed-1")] == [("in_bed", True)]
    assert len(store.history("shed-1", "temperature", T0, T0 + timedelta(hours=1))) == 50
    assert len(store.history("bed-1", "in_bed", T0, T0 + timedelta(hours=1))) == 1
    assert store.count() == 51
    # charts: min/max buckets computed by the device's own store
    buckets = store.history_buckets("shed-1", "temperature", T0, T0 + timedelta(hours=1), 600)
    assert buckets is not None
    assert [b.count for b in buckets] == [50]
    assert store.history_buckets("bed-1", "in_bed", T0, T0 + timedelta(hours=1), 600) == []
    assert spool_of(store) is None
    assert spool_metrics(store) == []

    # the care file is locked by someone else: the batch fails whole (nothing acknowledged)
    blocker = sqlite3.connect(tmp_path / CARE_FILE, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    later = T0 + timedelta(hours=2)
    batch = [
        StoredReading("shed-1", later, "temperature", 21.0),
        StoredReading("bed-1", later, "in_bed", False),
    ]
    with pytest.raises(StoreError):
        store.write(batch)
    blocker.execute("ROLLBACK")
    blocker.close()
    store.write(batch)  # the retry: both parts, each once
    assert store.count() == 53
    assert [v.value for v in store.latest("bed-1")] == [False]
    store.close()


# -- the platform on SQLite ----------------------------------------------------------------


def test_in_bed_is_stored_apart_and_still_answered(bound: dict[str, Any]) -> None:
    world = bound
    platform: Platform = world["platform"]
    client: TestClient = world["client"]
    acked: list[int] = []
    platform.pipeline.set_ack(lambda mid, _qos: acked.append(mid))
    platform.pipeline.process(
        [
            uplink("shed-1", {"temperature": 21.5}, T0, 1),
            uplink("bed-1", {"in_bed": True, "battery": 90}, T0, 2),
        ]
    )
    assert acked == [1, 2]
    data: Path = world["data"]
    assert devices_in(data / "readings.db") == {"shed-1"}
    assert devices_in(data / CARE_FILE) == {"bed-1"}
    latest = client.get("/api/v1/devices/bed-1/latest")
    assert latest.status_code == 200
    assert {v["metric"]: v["value"] for v in latest.json()} == {"in_bed": True, "battery": 90}
    history = client.get(
        "/api/v1/devices/bed-1/history",
        params={
            "from": (T0 - timedelta(hours=1)).isoformat(),
            "to": (T0 + timedelta(minutes=1)).isoformat(),
        },
    )
    assert history.status_code == 200, history.text
    series = {s["metric"]: s["points"] for s in history.json()["series"]}
    assert [p["value"] for p in series["in_bed"]] == [True]
    shed = client.get("/api/v1/devices/shed-1/latest").json()
    assert [(v["metric"], v["value"]) for v in shed] == [("temperature", 21.5)]


def test_care_readings_an_older_version_left_in_readings_db_are_moved(
    world: dict[str, Any],
) -> None:
    platform: Platform = world["platform"]
    assert isinstance(platform.store, CareSplitStore)
    old = [StoredReading("bed-1", T0 - timedelta(minutes=i), "in_bed", True) for i in range(3)]
    platform.store.telemetry.write(old)  # as the store before the separation did
    platform.store.telemetry.write([StoredReading("shed-1", T0, "temperature", 20.0, "Cel")])
    platform.stop()
    data: Path = world["data"]
    assert devices_in(data / "readings.db") == {"bed-1", "shed-1"}
    again = Platform(load_settings(data_dir=data, admin_token=TOKEN), clock=world["clock"])
    try:
        assert devices_in(data / "readings.db") == {"shed-1"}
        assert devices_in(data / CARE_FILE) == {"bed-1"}
        assert [v.time for v in again.store.latest("bed-1")] == [T0]
        assert len(again.care_readings.readings_of("bed-1", T0 - timedelta(days=1))) == 3
    finally:
        again.stop()


def test_retention_erases_care_readings_with_the_check_records(bound: dict[str, Any]) -> None:
    world = bound
    platform: Platform = world["platform"]
    clock: Clock = world["clock"]
    days = platform.settings.supervision.check_retention_days
    platform.pipeline.process(
        [
            uplink("bed-1", {"in_bed": True}, T0 - timedelta(days=days, hours=1), 1),
            uplink("bed-1", {"in_bed": False}, T0 - timedelta(days=days - 1), 2),
            uplink("shed-1", {"temperature": 20.0}, T0 - timedelta(days=days + 5), 3),
        ]
    )
    clock.at = T0
    erased = platform.supervision.retention(T0)
    assert erased["readings"] == 1
    kept = platform.care_readings.readings_of("bed-1", T0 - timedelta(days=365))
    assert [r.value for r in kept] == [False]
    # telemetry has its own retention (none on SQLite): the shed reading stays
    assert devices_in(world["data"] / "readings.db") == {"shed-1"}
    # the scheduled job does the same on the clock
    clock.at = T0 + timedelta(days=2)
    platform.supervision.tick(clock.at)
    assert platform.care_readings.count() == 0


def test_erasing_a_resident_erases_their_sensor_readings_since_binding(
    world: dict[str, Any],
) -> None:
    platform: Platform = world["platform"]
    client: TestClient = world["client"]
    clock: Clock = world["clock"]
    before = T0 - timedelta(hours=3)
    # before the binding: only the device's own health is kept (no one consented to in_bed)
    platform.pipeline.process([uplink("bed-1", {"in_bed": True, "battery": 95}, before, 1)])
    clock.at = T0 - timedelta(hours=2)  # bound now
    body = {"label": "Lgh 1, A.A.", "care_unit_id": "natt-1"}
    rid = client.post(f"{API}/residents", json=body).json()["id"]
    consent = {"party": "resident", "scope": ["sensor"], "given_on": "2026-11-01"}
    assert client.post(f"{API}/residents/{rid}/consents", json=consent).status_code == 201
    bound = client.post(f"{API}/residents/{rid}/sensors", json={"device_id": "bed-1"})
    assert bound.status_code == 201, bound.text
    clock.at = T0
    platform.pipeline.process(
        [
            uplink("bed-1", {"in_bed": False, "battery": 80}, T0 - timedelta(hours=1), 2),
            uplink("bed-1", {"in_bed": True}, T0, 3),
        ]
    )
    exported = client.get(f"{API}/residents/{rid}/export").json()
    assert [(r["metric"], r["value"]) for r in exported["sensor_readings"]] == [
        ("battery", 80),
        ("in_bed", False),
        ("in_bed", True),
    ]
    assert {r["device_id"] for r in exported["sensor_readings"]} == {"bed-1"}
    assert client.delete(f"{API}/residents/{rid}").status_code == 204
    left = platform.care_readings.readings_of("bed-1", before - timedelta(days=1))
    assert [(r.time, r.value) for r in left] == [(before, 95)]
    assert [(v.metric, v.time) for v in platform.store.latest("bed-1")] == [("battery", before)]


def test_in_bed_is_kept_only_while_a_consenting_resident_lies_there(
    world: dict[str, Any],
) -> None:
    """A bed sensor's in_bed is a sleep pattern: without a bound resident whose sensor consent
    holds there is no basis to keep it. Its battery (the device's own health) is kept."""
    platform: Platform = world["platform"]
    client: TestClient = world["client"]
    process = platform.pipeline.process
    process([uplink("bed-1", {"in_bed": True, "battery": 90}, T0, 1)])  # installed, unbound
    # what it said about the bed is gone; that it reported is kept (its health), undated
    assert {v.metric for v in platform.store.latest("bed-1")} == {"battery", "online"}
    health = client.get("/api/v1/devices/bed-1").json()["health"]
    assert health["last_seen"].startswith(T0.isoformat()[:16])

    resident, consent = resident_with_bed(client)
    process([uplink("bed-1", {"in_bed": False}, T0 + timedelta(minutes=1), 2)])
    assert {v.metric for v in platform.store.latest("bed-1")} == {"battery", "in_bed", "online"}

    withdrawn = client.post(f"{API}/residents/{resident}/consents/{consent}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    process([uplink("bed-1", {"in_bed": True}, T0 + timedelta(minutes=2), 3)])
    kept = platform.care_readings.readings_of("bed-1", T0 - timedelta(hours=1))
    assert [(r.metric, r.value) for r in kept] == [("battery", 90), ("in_bed", False)]
    metrics = client.get("/metrics").text
    assert "kommunvakt_care_readings_withheld_total 2" in metrics


def test_a_retired_care_devices_messages_are_refused_without_keeping_their_payload(
    world: dict[str, Any],
) -> None:
    """A retired device's messages are dead-lettered so a technician sees why; for a care
    device the payload is about a person and technicians may read dead letters: the reason is
    kept, the payload is not. A building device's payload is kept as before."""
    platform: Platform = world["platform"]
    client: TestClient = world["client"]
    for device in ("bed-1", "shed-1"):
        assert client.post(f"/api/v1/devices/{device}/retire").status_code == 200
    platform.pipeline.process(
        [
            uplink("bed-1", {"in_bed": False}, T0, 1),
            uplink("shed-1", {"temperature": 22.0}, T0, 2),
        ]
    )
    letters = {d["topic"]: d for d in client.get("/api/v1/dead-letters").json()}
    bed, shed = letters["kv/bed-1/up"], letters["kv/shed-1/up"]
    assert "care device: payload not kept" in bed["reason"]
    assert "in_bed" not in json.dumps(bed)
    assert "temperature" in json.dumps(shed)
    assert devices_in(world["data"] / CARE_FILE) == set()


def test_what_a_care_device_says_is_shown_only_to_admin_and_on_record(
    bound: dict[str, Any],
) -> None:
    """A technician for every site sees a bed sensor's health (battery), not whether someone
    is in the bed; an admin sees it and the look is in the audit log; the start page (the
    building overview) shows a care device's health only, to anyone."""
    platform: Platform = bound["platform"]
    client: TestClient = bound["client"]
    platform.pipeline.process([uplink("bed-1", {"in_bed": True, "battery": 77}, T0, 1)])
    password = "ett långt lösenord 42"
    user = {"username": "tek", "role": "technician", "sites": ["*"], "password": password}
    assert client.post("/api/v1/users", json=user).status_code == 201
    token = client.post("/api/v1/users/tek/tokens", json={"name": "t"}).json()["token"]
    tech = {"Authorization": f"Bearer {token}"}

    seen = client.get("/api/v1/devices/bed-1/latest", headers=tech).json()
    assert [(v["metric"], v["value"]) for v in seen] == [("battery", 77)]
    assert client.get("/api/v1/devices/bed-1/history", headers=tech).status_code == 403
    by_admin = client.get("/api/v1/devices/bed-1/latest").json()
    assert {v["metric"] for v in by_admin} == {"battery", "in_bed"}
    assert client.get("/api/v1/devices/bed-1/history").status_code == 200
    audit = client.get("/api/v1/audit").json()
    looks = [e for e in audit if e["action"] == "care.device.read" and e["target_id"] == "bed-1"]
    assert len(looks) == 2  # the latest values and the history, each on record

    web = TestClient(client.app)
    form = web.get("/login").text
    csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = web.post("/login", data={"username": "tek", "password": password, "csrf_token": csrf})
    assert signed.status_code in (200, 303), signed.text[:300]
    start = web.get("/")
    assert start.status_code == 200
    assert 'data-device-id="bed-1"' in start.text
    assert "I sängen" not in start.text
    assert "Batteri: 77" in start.text.replace("\xa0", " ")


def test_a_care_devices_undecodable_message_is_refused_without_keeping_its_payload(
    world: dict[str, Any],
) -> None:
    """A payload that cannot be decoded names no device, so the topic is searched for a
    registered care device's ref (a zigbee2mqtt name may contain "/"): if one is named, the
    dead letter keeps the reason and not the bytes; a building device's are kept as before."""
    platform: Platform = world["platform"]
    client: TestClient = world["client"]
    bed = {"id": "bed-2", "type": "bed_sensor", "care_unit_id": "natt-1",
           "refs": [{"source": "zigbee2mqtt", "ref": "Säng/rum 12"}]}  # fmt: skip
    assert client.post("/api/v1/devices", json=bed).status_code == 201, bed
    broken = b'{"occupancy": tru'  # a firmware bug: cut-off JSON
    platform.pipeline.process(
        [
            Inbound("kv/bed-1/up", b'{"values": {"in_bed": tru', 1, 1, T0),
            Inbound("zigbee2mqtt/Säng/rum 12", broken, 2, 1, T0),
            Inbound("kv/shed-1/up", b'{"values": {"temperature": 2', 3, 1, T0),
        ]
    )
    letters = {d["topic"]: d for d in client.get("/api/v1/dead-letters").json()}
    for topic in ("kv/bed-1/up", "zigbee2mqtt/Säng/rum 12"):
        assert "care device: payload not kept" in letters[topic]["reason"], letters[topic]
        assert "tru" not in json.dumps(letters[topic])
    assert "temperature" in json.dumps(letters["kv/shed-1/up"])
