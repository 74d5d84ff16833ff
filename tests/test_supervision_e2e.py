"""End to end over a real Mosquitto: bed sensors and camera-check events drive tonight's checks
to ok, not_seen → re-check → escalated, missed and technical_failure, each with its alert.

The platform runs in-process with its clock shifted (a seam of ours): the test moves "now" to
the check time instead of waiting for a wall-clock minute; windows are seconds long.
"""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from supervision.schedule import instant, night_of
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port, wait_for
from tests.support.platform import TOKEN

pytestmark = pytest.mark.mosquitto

API = "/api/v1/supervision"
STHLM = __import__("zoneinfo").ZoneInfo("Europe/Stockholm")
MARKER = base64.b64encode(b"\xff\xd8\xff\xe0JFIF-never-stored" * 20).decode()


class ShiftedClock:
    """Real time plus an offset the test moves forward."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self.offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self.offset

    def jump_to(self, when: datetime) -> None:
        with self._lock:
            self.offset = when - datetime.now(UTC)


def pub(broker: Mosquitto, topic: str, body: object) -> None:
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    subprocess.run(
        ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", topic,
         "-s"],
        input=payload,
        check=True,
        timeout=10,
    )  # fmt: skip


@pytest.fixture
def running(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[dict[str, Any]]:
    # the check time: 02:00 local of the coming night
    real_now = datetime.now(UTC)
    night = night_of(real_now, STHLM)
    due = instant(night + timedelta(days=1), time(2, 0), STHLM)
    clock = ShiftedClock(due - timedelta(minutes=10))
    settings = load_settings(
        data_dir=tmp_path / "data",
        admin_token=TOKEN,
        mqtt_url=mosquitto.url,
        mqtt_client_id=f"kv-sv-{free_port()}",
        api_port=free_port(),
        supervision={
            "grace_minutes": 0.1,  # 6 s
            "recheck_minutes": 0.1,
            "escalation_step_minutes": 0.1,
            "early_minutes": 0,
        },
    )
    platform = Platform(settings, clock=clock)
    platform.start(mqtt=True)
    try:
        wait_for(lambda: platform.mqtt is not None and platform.mqtt.connected.is_set())
        app = create_app(platform)
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield {"platform": platform, "client": client, "clock": clock, "due": due,
                   "night": night, "broker": mosquitto, "data": tmp_path / "data"}  # fmt: skip
    finally:
        platform.stop()


def _resident(client: TestClient, label: str, method: str, night: Any, bed: str | None) -> str:
    rid = client.post(f"{API}/residents", json={"label": label, "care_unit_id": "natt-e2e"}).json()[
        "id"
    ]
    r = client.post(
        f"{API}/residents/{rid}/consents",
        json={"party": "resident", "scope": [method], "given_on": "2026-01-01"},
    )
    assert r.status_code == 201, r.text
    if bed:
        assert (
            client.post(f"{API}/residents/{rid}/sensors", json={"device_id": bed}).status_code
            == 201
        )
    r = client.post(
        f"{API}/residents/{rid}/schedules",
        json={"method": method, "times": ["02:00"], "valid_from": night.isoformat()},
    )
    assert r.status_code == 201, r.text
    assert r.json()["checks_tonight"] == 1
    return rid


def _status(platform: Platform, rid: str) -> str:
    checks = platform.supervision.checks.of_resident(rid)
    return checks[0].status if checks else ""


def _alerts(platform: Platform, rid: str) -> dict[str, str]:
    check = platform.supervision.checks.of_resident(rid)[0]
    return {
        a.rule: a.state
        for a in platform.alerts.list(device_id=f"sv-check-{check.id}", origin="external", limit=50)
    }


def test_sensor_and_camera_outcomes_with_alerts(running: dict[str, Any]) -> None:
    platform: Platform = running["platform"]
    client: TestClient = running["client"]
    clock: ShiftedClock = running["clock"]
    broker: Mosquitto = running["broker"]
    night = running["night"]
    assert (
        client.post("/api/v1/sites", json={"id": "vallmon", "name": "Vallmon"}).status_code == 201
    )
    unit = {"id": "natt-e2e", "name": "Natt E2E", "site_id": "vallmon"}
    assert client.post("/api/v1/care-units", json=unit).status_code == 201
    for bed in ("bed-1", "bed-2", "bed-3"):
        r = client.post(
            "/api/v1/devices", json={"id": bed, "type": "bed_sensor", "expected_interval_s": 600}
        )
        assert r.status_code == 201, r.text
    in_bed = _resident(client, "Lgh 1, A.A.", "sensor", night, "bed-1")
    out_of_bed = _resident(client, "Lgh 2, B.B.", "sensor", night, "bed-2")
    silent = _resident(client, "Lgh 3, C.C.", "sensor", night, "bed-3")
    cam_ok = _resident(client, "Lgh 4, D.D.", "camera", night, None)
    cam_recheck = _resident(client, "Lgh 5, E.E.", "camera", night, None)
    cam_missed = _resident(client, "Lgh 6, F.F.", "camera", night, None)

    # the bed sensors report over MQTT (ten minutes before the check, in platform time)
    t = clock().isoformat()
    pub(broker, "kv/bed-1/up", {"time": t, "values": {"in_bed": True, "battery": 90}})
    pub(broker, "kv/bed-2/up", {"time": t, "values": {"in_bed": False, "battery": 90}})
    beds = platform.supervision.sensors
    wait_for(lambda: beds.in_bed_known("bed-1") and beds.in_bed_known("bed-2"), what="bed readings")

    clock.jump_to(running["due"])
    wait_for(lambda: _status(platform, in_bed) == "ok", what="in bed → ok")
    wait_for(lambda: _status(platform, out_of_bed) == "recheck_pending", what="not in bed")
    wait_for(lambda: _status(platform, silent) == "technical_failure", what="silent sensor")

    # the camera system reports two looks
    look = {"staff_id": "np-3", "time": clock().isoformat(), "duration_s": 20}
    pub(broker, f"kv/supervision/{cam_ok}/check", {**look, "outcome": "ok"})
    pub(broker, f"kv/supervision/{cam_recheck}/check", {**look, "outcome": "not_seen"})
    # and a camera system that wrongly sends a frame: refused whole, nothing of it kept
    pub(broker, f"kv/supervision/{cam_ok}/check", {**look, "outcome": "ok", "image": MARKER})
    wait_for(lambda: _status(platform, cam_ok) == "ok", what="camera ok")
    wait_for(lambda: _status(platform, cam_recheck) == "recheck_pending", what="camera not seen")
    wait_for(lambda: platform.supervision.camera_inbox.rejected == 1, what="image refused")

    # the re-check look finds the resident: resolved, and its alert too
    again = {**look, "time": clock().isoformat(), "outcome": "ok", "staff_id": "np-4"}
    pub(broker, f"kv/supervision/{cam_recheck}/check", again)
    wait_for(lambda: _status(platform, cam_recheck) == "resolved", what="re-check ok")

    # nobody looks at Lgh 6 within the grace window: missed
    wait_for(lambda: _status(platform, cam_missed) == "missed", timeout=40, what="missed")
    # bed-2 still says "not in bed" at the re-check: escalated, first rung (phone), then visit
    wait_for(lambda: _status(platform, out_of_bed) == "escalated", timeout=40, what="escalated")
    wait_for(
        lambda: _alerts(platform, out_of_bed).get("supervision_escalated_visit") == "active",
        timeout=40,
        what="second rung",
    )

    assert _alerts(platform, in_bed) == {}
    assert _alerts(platform, cam_ok) == {}
    assert _alerts(platform, silent) == {"supervision_technical_failure": "active"}
    assert _alerts(platform, cam_missed) == {"supervision_missed": "active"}
    assert _alerts(platform, cam_recheck) == {"supervision_not_seen": "resolved"}
    assert _alerts(platform, out_of_bed) == {
        "supervision_not_seen": "resolved",
        "supervision_escalated_phone": "resolved",
        "supervision_escalated_visit": "active",
    }
    alert = platform.alerts.list(rule="supervision_missed", origin="external", limit=5)[0]
    assert "care_unit:natt-e2e" in alert.tags
    assert "role:night_staff" in alert.tags
    assert "Lgh 6, F.F." in (alert.message or "")  # the pseudonymous label, nothing more
    assert alert.site_id == "vallmon"  # the unit's site: the message says where

    # a visit from the board resolves the escalation and its alert, with the staff as actor
    check = platform.supervision.checks.of_resident(out_of_bed)[0]
    r = client.post(
        f"{API}/checks/{check.id}/outcome",
        json={"outcome": "visit", "note": "låg på golvet, hjälpt upp"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved"
    assert _alerts(platform, out_of_bed)["supervision_escalated_visit"] == "resolved"

    # every transition is stored with actor and time
    history = client.get(f"{API}/residents/{out_of_bed}/history").json()
    path = [(t["from"], t["to"], t["actor"]) for t in history["transitions"]]
    assert path == [
        ("", "scheduled", "system"),
        ("scheduled", "not_seen", "sensor:bed-2"),
        ("not_seen", "recheck_pending", "system"),
        ("recheck_pending", "escalated", "sensor:bed-2"),
        ("escalated", "escalated", "system"),
        ("escalated", "resolved", "admin"),
    ]
    cam = client.get(f"{API}/residents/{cam_recheck}/history").json()["transitions"]
    assert [t["actor"] for t in cam[1:]] == ["camera:np-3", "system", "camera:np-4"]

    # no image data anywhere: not in the database files, not in the dead letters, not in the log
    platform.stop()
    needle = MARKER[:48].encode()
    for f in running["data"].rglob("*"):
        if f.is_file():
            assert needle not in f.read_bytes(), f
    assert needle not in (broker.log.read_bytes() if broker.log.exists() else b"")
