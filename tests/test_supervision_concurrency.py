"""The threads of e-supervision against one real SQLite database: the pipeline's bed-sensor
readings, the clock's tick and camera looks at once lose no transition, and a reading in
flight while consent is withdrawn is not kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from fastapi.testclient import TestClient

from devices.reading import Reading
from gateway.app import create_app
from gateway.pipeline import Inbound
from gateway.platform import Platform
from gateway.settings import load_settings
from tests.support.platform import TOKEN

STHLM = ZoneInfo("Europe/Stockholm")
API = "/api/v1/supervision"
TIMES = ["22:00", "23:00", "00:30", "02:00"]


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=STHLM).astimezone(UTC)


class Clock:
    """The platform clock, moved by the test; ``hold`` stops one thread inside a call to it."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.held: threading.Thread | None = None
        self.entered = threading.Event()
        self.go = threading.Event()

    def __call__(self) -> datetime:
        if threading.current_thread() is self.held:
            self.entered.set()
            assert self.go.wait(10), "the test never let the held thread go on"
        return self.at


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    clock = Clock(local(2026, 11, 20, 21, 0))
    settings = load_settings(data_dir=tmp_path / "d", admin_token=TOKEN)
    platform = Platform(settings, clock=clock)
    with TestClient(create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        assert c.post("/api/v1/care-units", json={"id": "u1", "name": "U1"}).status_code == 201
        yield {"platform": platform, "svc": platform.supervision, "client": c, "clock": clock}
    platform.stop()


def resident(c: TestClient, method: str, bed: str | None = None) -> str:
    r = c.post(f"{API}/residents", json={"label": "Lgh 1, A.A.", "care_unit_id": "u1"})
    rid = str(r.json()["id"])
    consent = {"party": "resident", "scope": [method], "given_on": "2026-01-01"}
    assert c.post(f"{API}/residents/{rid}/consents", json=consent).status_code == 201
    if bed:
        device = {"id": bed, "type": "bed_sensor", "expected_interval_s": 300}
        assert c.post("/api/v1/devices", json=device).status_code == 201
        assert c.post(f"{API}/residents/{rid}/sensors", json={"device_id": bed}).status_code == 201
    plan = {"method": method, "times": TIMES, "valid_from": "2026-11-01"}
    assert c.post(f"{API}/residents/{rid}/schedules", json=plan).status_code == 201
    return rid


def test_readings_ticks_and_camera_looks_at_once_lose_no_transition(
    world: dict[str, Any],
) -> None:
    from supervision.camera import CameraCheck

    c, svc, clock, platform = world["client"], world["svc"], world["clock"], world["platform"]
    beds = [f"bed-{i}" for i in range(4)]
    sensed = [resident(c, "sensor", bed) for bed in beds]
    watched = [resident(c, "camera") for _ in range(2)]
    night_over = threading.Event()
    # each tick waits for a new batch and a new look, so all three run through the night
    batch_done, look_done = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    batches = looks = 0

    def pipeline() -> None:  # the pipeline thread: every bed reports, again and again
        nonlocal batches
        try:
            while not night_over.is_set():
                at = clock()
                in_bed = batches % 3 != 0
                platform.pipeline.process(
                    [
                        Inbound(
                            f"kv/{bed}/up",
                            orjson.dumps({"time": at.isoformat(), "values": {"in_bed": in_bed}}),
                            1,
                            1,
                            at,
                        )
                        for bed in beds
                    ]
                )
                batches += 1
                batch_done.set()
        except BaseException as exc:
            failures.append(exc)

    def camera() -> None:  # the camera inbox: a look at each watched resident, again and again
        nonlocal looks
        try:
            while not night_over.is_set():
                for rid in watched:
                    svc.on_camera_check(CameraCheck(rid, "ok", "np-1", clock()))
                looks += 1
                look_done.set()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=pipeline), threading.Thread(target=camera)]
    for t in threads:
        t.start()
    try:  # the clock thread is this one: a tick every two minutes of the night
        at = local(2026, 11, 20, 21, 50)
        while at <= local(2026, 11, 21, 3, 30):
            assert batch_done.wait(10)
            assert look_done.wait(10)
            batch_done.clear()
            look_done.clear()
            clock.at = at
            svc.tick(at)
            at += timedelta(minutes=2)
    finally:
        night_over.set()
        for t in threads:
            t.join(30)
    assert not failures
    assert batches >= 150  # a batch and a look for every tick at least
    assert looks >= 150
    assert svc.stats.errors == 0

    changes = 0
    for rid in sensed + watched:
        checks = svc.checks.of_resident(rid)
        assert len(checks) == len(TIMES)
        for check in checks:
            steps = svc.checks.transitions([check.id])
            assert steps[0]["to"] == "scheduled"
            # each change starts where the one before it ended: none was overwritten
            assert [s["from"] for s in steps[1:]] == [s["to"] for s in steps[:-1]]
            assert steps[-1]["to"] == check.status
            assert check.status != "scheduled"  # every check was decided
            changes += len(steps) - 1
    assert changes == svc.stats.transitions  # every change counted is stored


def test_a_reading_in_flight_when_consent_is_withdrawn_is_not_kept(
    world: dict[str, Any],
) -> None:
    c, svc, clock, platform = world["client"], world["svc"], world["clock"], world["platform"]
    rid = resident(c, "sensor", "bed-9")
    consent = c.get(f"{API}/residents/{rid}").json()["consents"][0]["id"]
    batch = [(platform.registry.info("bed-9"), Reading("bed-9", clock.at, "in_bed", True))]

    def pipeline() -> None:  # stopped inside on_readings, in its call to the clock
        svc.on_readings(batch)

    reader = threading.Thread(target=pipeline)
    clock.held = reader
    reader.start()
    assert clock.entered.wait(10)
    # meanwhile, on a request thread: the resident withdraws consent
    assert c.post(f"{API}/residents/{rid}/consents/{consent}/withdraw").status_code == 200
    clock.go.set()
    reader.join(10)
    assert not svc.sensors.in_bed_known("bed-9")  # the reading arrived after the withdrawal
