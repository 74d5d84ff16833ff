"""The service against a real SQLite database and the real pipeline, with the clock moved by
the test: absences, a declined night, consent withdrawal for a bed sensor, the March night,
retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.pipeline import Inbound
from gateway.platform import Platform
from gateway.settings import load_settings
from tests.support.platform import TOKEN
from tests.support.postgres import pg_cluster  # noqa: F401 (a fixture)

STHLM = ZoneInfo("Europe/Stockholm")
API = "/api/v1/supervision"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=STHLM).astimezone(UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    clock = Clock(local(2026, 11, 20, 21, 0))
    extra = {}
    if request.param == "postgres":
        extra["database_url"] = request.getfixturevalue("pg_cluster").create_database()
    settings = load_settings(data_dir=tmp_path / "d", admin_token=TOKEN, **extra)
    platform = Platform(settings, clock=clock)
    # no start(): the test drives the clock by calling the ticker itself
    with TestClient(create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        assert c.post("/api/v1/care-units", json={"id": "u1", "name": "U1"}).status_code == 201
        yield {"platform": platform, "svc": platform.supervision, "client": c, "clock": clock}
    platform.stop()


def resident(c: TestClient, method: str, times: list[str], bed: str | None = None,
             valid_from: str = "2026-11-01") -> str:  # fmt: skip
    rid = c.post(f"{API}/residents", json={"label": "Lgh 1, A.A.", "care_unit_id": "u1"}).json()[
        "id"
    ]
    c.post(
        f"{API}/residents/{rid}/consents",
        json={"party": "resident", "scope": [method], "given_on": "2026-01-01"},
    )
    if bed:
        c.post(
            "/api/v1/devices", json={"id": bed, "type": "bed_sensor", "expected_interval_s": 300}
        )
        assert c.post(f"{API}/residents/{rid}/sensors", json={"device_id": bed}).status_code == 201
    r = c.post(
        f"{API}/residents/{rid}/schedules",
        json={"method": method, "times": times, "valid_from": valid_from},
    )
    assert r.status_code == 201, r.text
    return rid


def statuses(svc: Any, rid: str) -> list[str]:
    return [c.status for c in svc.checks.of_resident(rid)]


def test_absence_suspends_and_its_early_end_resumes(world: dict[str, Any]) -> None:
    c, svc, clock = world["client"], world["svc"], world["clock"]
    rid = resident(c, "camera", ["22:00", "23:00", "01:00"])
    assert statuses(svc, rid) == ["scheduled"] * 3
    r = c.post(
        f"{API}/residents/{rid}/absences",
        json={"reason": "hospital", "starts_at": "2026-11-20T21:30:00+01:00",
              "ends_at": "2026-11-20T23:30:00+01:00"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert statuses(svc, rid) == ["suspended", "suspended", "scheduled"]
    clock.at = local(2026, 11, 20, 21, 45)
    assert c.post(f"{API}/residents/{rid}/absences/{r.json()['id']}/end").status_code == 200
    assert statuses(svc, rid) == ["scheduled"] * 3
    clock.at = local(2026, 11, 20, 21, 50)
    c.post(
        f"{API}/residents/{rid}/absences",
        json={"reason": "travel", "starts_at": "2026-11-20T21:50:00+01:00"},
    )
    clock.at = local(2026, 11, 21, 3, 0)
    svc.tick(clock())
    assert statuses(svc, rid) == ["suspended"] * 3  # never missed while away


def test_a_declined_night_is_never_missed(world: dict[str, Any]) -> None:
    c, svc, clock = world["client"], world["svc"], world["clock"]
    rid = resident(c, "camera", ["22:00", "01:00"])
    r = c.post(f"{API}/residents/{rid}/skip-night", json={"night": "2026-11-20"})
    assert r.json() == {"skipped_checks": 2}
    clock.at = local(2026, 11, 21, 4, 0)
    svc.tick(clock())
    assert statuses(svc, rid) == ["skipped_by_resident"] * 2
    transitions = svc.checks.transitions([svc.checks.of_resident(rid)[0].id])
    assert transitions[-1]["actor"] == "admin"
    assert transitions[-1]["note"] == "på den boendes begäran"


def _reading(platform: Platform, bed: str, in_bed: bool, at: datetime) -> None:
    payload = orjson.dumps({"time": at.isoformat(), "values": {"in_bed": in_bed}})
    platform.pipeline.process([Inbound(f"kv/{bed}/up", payload, 1, 1, at)])


def test_consent_withdrawal_stops_the_sensor_at_once(world: dict[str, Any]) -> None:
    c, svc, clock, platform = world["client"], world["svc"], world["clock"], world["platform"]
    rid = resident(c, "sensor", ["22:00"], bed="bed-9")
    _reading(platform, "bed-9", True, clock())
    assert svc.sensors.in_bed_known("bed-9")
    consent = c.get(f"{API}/residents/{rid}").json()["consents"][0]["id"]
    w = c.post(f"{API}/residents/{rid}/consents/{consent}/withdraw")
    assert w.json() == {"cancelled_checks": 1}
    assert not svc.sensors.in_bed_known("bed-9")  # what the sensor said is forgotten
    _reading(platform, "bed-9", False, clock())
    assert not svc.sensors.in_bed_known("bed-9")  # and what it says now is not taken
    clock.at = local(2026, 11, 20, 23, 0)
    svc.tick(clock())
    assert statuses(svc, rid) == ["cancelled"]
    assert svc.materialise(date(2026, 11, 21), clock()) == 0  # and no new night either


def test_sensor_check_in_the_missing_march_hour(world: dict[str, Any]) -> None:
    c, svc, clock, platform = world["client"], world["svc"], world["clock"], world["platform"]
    clock.at = local(2026, 3, 28, 21, 0)
    rid = resident(c, "sensor", ["02:30"], bed="bed-3", valid_from="2026-03-01")
    (check,) = svc.checks.of_resident(rid)
    assert (check.planned, check.due_at) == ("02:30", datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    row = svc.board("u1", clock())[0].checks[0]
    assert (row.planned, row.local) == ("02:30", "03:00")
    clock.at = datetime(2026, 3, 29, 0, 58, tzinfo=UTC)  # 01:58 CET
    _reading(platform, "bed-3", True, clock())
    svc.tick(clock())
    assert statuses(svc, rid) == ["scheduled"]
    clock.at = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST: the jump is over
    svc.tick(clock())
    assert statuses(svc, rid) == ["ok"]


def test_retention_of_check_records_and_counts(world: dict[str, Any]) -> None:
    c, svc, clock = world["client"], world["svc"], world["clock"]
    rid = resident(c, "camera", ["22:00"])
    assert svc.counts_per_care_unit(clock()) == {"u1": {"scheduled": 1}}
    clock.at = local(2026, 11, 21, 2, 0)
    svc.tick(clock())
    assert svc.counts_per_care_unit(clock()) == {"u1": {"missed": 1}}
    assert c.get(f"{API}/counts").json() == {"u1": {"missed": 1}}
    clock.at = local(2026, 11, 20, 21, 0) + timedelta(days=90)
    assert svc.retention(clock())["checks"] == 0  # 90 nights: kept
    clock.at = local(2026, 11, 20, 21, 0) + timedelta(days=91)
    assert svc.retention(clock())["checks"] == 1
    assert statuses(svc, rid) == []
    assert world["platform"].audit.entries(target_id=rid)  # the audit trail has its own period


def test_export_and_erase(world: dict[str, Any]) -> None:
    c, svc, clock = world["client"], world["svc"], world["clock"]
    rid = resident(c, "sensor", ["22:00"], bed="bed-5")
    clock.at = local(2026, 11, 20, 22, 0)
    svc.tick(clock())  # no data from bed-5: technical failure, an alert is open
    assert statuses(svc, rid) == ["technical_failure"]
    alerts = world["platform"].alerts
    assert [a.state for a in alerts.list(origin="external", limit=10)] == ["active"]
    exported = c.get(f"{API}/residents/{rid}/export").json()
    assert exported["sensors"] == ["bed-5"]
    assert [t["to"] for t in exported["transitions"]] == ["scheduled", "technical_failure"]
    assert c.delete(f"{API}/residents/{rid}").status_code == 204
    assert svc.checks.of_resident(rid) == []
    assert svc.bindings.all() == {}
    # the alert was about the resident: erased with them (not resolved, which would notify)
    assert alerts.list(origin="external", limit=10) == []


def test_a_plan_changed_behind_the_api_still_stops_its_checks(world: dict[str, Any]) -> None:
    c, svc, clock = world["client"], world["svc"], world["clock"]
    rid = resident(c, "camera", ["22:00", "23:00"])
    (sched,) = svc.schedules.of(rid)
    clock.at = local(2026, 11, 20, 22, 30)
    svc.schedules.end(rid, sched.id, now=clock())  # e.g. a seeding script
    svc.refresh()
    clock.at = local(2026, 11, 21, 1, 0)
    svc.tick(clock())
    # 22:00 was due before the plan ended: missed; 23:00 was not: cancelled, never missed
    assert statuses(svc, rid) == ["missed", "cancelled"]
    sensor = resident(c, "sensor", ["01:30"], bed="bed-7")
    svc.bindings.unbind(sensor, "bed-7")
    svc.refresh()
    clock.at = local(2026, 11, 21, 1, 30)
    svc.tick(clock())
    # consent is there, the sensor is not: a technical failure (a visit), not silence
    assert statuses(svc, sensor) == ["technical_failure"]


def test_per_resident_windows_and_ladder(world: dict[str, Any]) -> None:
    c, svc, clock = world["client"], world["svc"], world["clock"]
    rid = c.post(f"{API}/residents", json={"label": "Lgh 8", "care_unit_id": "u1"}).json()["id"]
    c.post(
        f"{API}/residents/{rid}/consents",
        json={"party": "resident", "scope": ["camera"], "given_on": "2026-01-01"},
    )
    # Kungsbacka-style: straight to a visit; a 5-minute grace and a 10-minute re-check
    r = c.post(
        f"{API}/residents/{rid}/schedules",
        json={"method": "camera", "times": ["22:00"], "valid_from": "2026-11-01",
              "grace_minutes": 5, "recheck_minutes": 10, "ladder": ["visit"]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    (check,) = svc.checks.of_resident(rid)
    clock.at = local(2026, 11, 20, 22, 1)
    r = c.post(f"{API}/checks/{check.id}/outcome", json={"outcome": "not_seen"})
    assert r.json()["recheck_at"] == local(2026, 11, 20, 22, 11).isoformat()
    clock.at = local(2026, 11, 20, 22, 15)  # re-check time + 4 min: still within grace
    svc.tick(clock())
    assert statuses(svc, rid) == ["recheck_pending"]
    clock.at = local(2026, 11, 20, 22, 16)
    svc.tick(clock())
    assert statuses(svc, rid) == ["escalated"]
    rules = {a.rule: a.state for a in world["platform"].alerts.list(origin="external", limit=10)}
    assert rules == {"supervision_not_seen": "resolved", "supervision_escalated_visit": "active"}


def test_camera_events_are_matched_and_checked_for_time(world: dict[str, Any]) -> None:
    from supervision.camera import CameraCheck

    c, svc, clock, audit = world["client"], world["svc"], world["clock"], world["platform"].audit
    rid = resident(c, "camera", ["22:00", "23:00"])
    clock.at = local(2026, 11, 20, 22, 2)
    svc.on_camera_check(CameraCheck(rid, "ok", "np-1", clock() + timedelta(hours=1)))
    svc.on_camera_check(CameraCheck(rid, "ok", "np-1", clock() - timedelta(days=2)))
    svc.on_camera_check(CameraCheck("r-unknown", "ok", "np-1", clock()))
    assert statuses(svc, rid) == ["scheduled", "scheduled"]
    svc.on_camera_check(CameraCheck(rid, "abnormal", "np-1", clock(), duration_s=30))
    assert statuses(svc, rid) == ["escalated", "scheduled"]  # the 22:00 check, at once
    entries = audit.entries(action="supervision.check.camera")
    assert [(e.actor, e.outcome) for e in entries] == [
        ("camera:np-1", "failed"),
        ("camera:np-1", "failed"),
        ("camera:np-1", "denied"),
        ("camera:np-1", "allowed"),
    ]
    assert all(e.at == clock() for e in entries)  # recorded at our time; the look's is in details
    assert '"duration_s":30' in (entries[-1].details or "")


def test_a_camera_event_must_match_the_checks_method_resident_and_window(
    world: dict[str, Any],
) -> None:
    from supervision.camera import CameraCheck

    c, svc, clock, audit = world["client"], world["svc"], world["clock"], world["platform"].audit
    sensed = resident(c, "sensor", ["22:00"], bed="sang-1")
    # the same resident agrees to camera looks too, but tonight's check is the bed sensor's
    c.post(
        f"{API}/residents/{sensed}/consents",
        json={"party": "resident", "scope": ["camera"], "given_on": "2026-01-01"},
    )
    watched = resident(c, "camera", ["23:00"])
    (sensor_check,) = svc.checks.of_resident(sensed)
    (camera_check,) = svc.checks.of_resident(watched)
    clock.at = local(2026, 11, 20, 22, 5)

    # a camera look for a sensor check, named or not
    svc.on_camera_check(CameraCheck(sensed, "ok", "np-1", clock(), check_id=sensor_check.id))
    svc.on_camera_check(CameraCheck(sensed, "ok", "np-1", clock()))
    # a look at one resident that names another resident's check
    svc.on_camera_check(CameraCheck(sensed, "ok", "np-1", clock(), check_id=camera_check.id))
    # a look at 22:05 for the 23:00 check: long before its window opens (10 min early)
    svc.on_camera_check(CameraCheck(watched, "ok", "np-1", clock(), check_id=camera_check.id))
    svc.on_camera_check(CameraCheck(watched, "ok", "np-1", clock()))

    assert statuses(svc, sensed) == ["scheduled"]
    assert statuses(svc, watched) == ["scheduled"]
    reasons = [
        (e.outcome, orjson.loads(e.details or "{}").get("reason"))
        for e in audit.entries(action="supervision.check.camera")
    ]
    assert reasons == [
        ("failed", "the check is a sensor check, not a camera check"),
        ("failed", "no open camera check of this resident had its window open"),
        ("failed", "no open check of this resident has that check_id"),
        ("failed", "the look was before the check's window opened"),
        ("failed", "no open camera check of this resident had its window open"),
    ]
    # inside the window the same look counts
    clock.at = local(2026, 11, 20, 22, 55)
    svc.on_camera_check(CameraCheck(watched, "ok", "np-1", clock(), check_id=camera_check.id))
    assert statuses(svc, watched) == ["ok"]


def test_settings_from_toml_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "kv.toml"
    toml.write_text('[supervision]\ngrace_minutes = 10\nescalation_ladder = ["visit"]\n')
    s = load_settings(toml, admin_token=TOKEN)
    assert s.supervision.grace_minutes == 10
    assert s.supervision.escalation_ladder == ("visit",)
    assert s.supervision.recheck_minutes == 15  # the documented default
    monkeypatch.setenv("KOMMUNVAKT_SUPERVISION", '{"audit_retention_days": 365}')
    assert load_settings(admin_token=TOKEN).supervision.audit_retention_days == 365
    with pytest.raises(ValueError, match="grace_minutes"):
        load_settings(admin_token=TOKEN, supervision={"grace_minutes": 0})


def _reading_received(platform: Platform, bed: str, in_bed: bool, at: datetime,
                      received: datetime) -> None:  # fmt: skip
    payload = orjson.dumps({"time": at.isoformat(), "values": {"in_bed": in_bed}})
    platform.pipeline.process([Inbound(f"kv/{bed}/up", payload, 1, 1, received)])


def test_the_bed_sensor_outcome_follows_receipt_not_the_device_clock(
    world: dict[str, Any],
) -> None:
    """A sensor whose clock ran four minutes ahead said "in bed"; the message received after
    it, dated earlier by the corrected clock, says "not in bed": that is what holds now."""
    c, svc, clock, platform = world["client"], world["svc"], world["clock"], world["platform"]
    rid = resident(c, "sensor", ["22:00"], bed="bed-5")
    clock.at = local(2026, 11, 20, 21, 50)
    _reading_received(platform, "bed-5", True, clock() + timedelta(minutes=4), clock())
    clock.at = local(2026, 11, 20, 21, 52)
    _reading_received(platform, "bed-5", False, clock(), clock())
    clock.at = local(2026, 11, 20, 22, 0)
    svc.tick(clock())
    (check,) = svc.checks.of_resident(rid)
    assert check.status != "ok"
    notes = [t["note"] for t in svc.checks.transitions([check.id])]
    assert "inte i sängen" in notes


def test_one_check_that_cannot_advance_does_not_stop_the_others(
    world: dict[str, Any],
) -> None:
    from devices.reading import Reading
    from supervision.service import SupervisionService

    c, clock, platform = world["client"], world["clock"], world["platform"]
    first = resident(c, "sensor", ["22:00"], bed="bed-1")
    second = resident(c, "sensor", ["22:00"], bed="bed-2")

    class BrokenFor:
        """The registry seam, failing for one device as a bug would."""

        def __init__(self, inner: Any, bad: str) -> None:
            self.inner, self.bad = inner, bad

        def info(self, device_id: str) -> Any:
            if device_id == self.bad:
                raise RuntimeError("a bug behind one device")
            return self.inner.info(device_id)

    svc = SupervisionService(
        platform.sessions,
        platform.supervision.settings,
        registry=BrokenFor(platform.registry, "bed-1"),
        audit=platform.audit,
        clock=clock,
    )
    clock.at = local(2026, 11, 20, 21, 55)
    for bed in ("bed-1", "bed-2"):
        info = platform.registry.info(bed)
        svc.on_readings([(info, Reading(bed, clock(), "in_bed", True))])
    clock.at = local(2026, 11, 20, 22, 0)
    svc.tick(clock())
    assert statuses(svc, second) == ["ok"]
    assert statuses(svc, first) == ["scheduled"]  # tried again at the next tick
    assert svc.stats.errors == 1
