"""The engine with an injected clock, real SQLite and PostgreSQL, and a real HTTP receiver
(apprise json://).

Flapping, severity changes, silences, closing time from the clock, silent devices, care alerts
routed by tags, and a restart that neither repeats the first message nor forgets reminders.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.service import Alerting, build_alerting
from core.db import Base, make_engine, make_sessionmaker
from devices.reading import Reading
from devices.registry import DeviceRegistry
from devices.schemas import DeviceCreate, SiteCreate
from gateway.settings import load_settings
from tests.support.alert_sinks import JsonSink
from tests.support.net import wait_for
from tests.support.platform import TOKEN
from tests.support.postgres import pg_cluster  # noqa: F401 (a fixture)

T0 = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)  # Wednesday 10:00 in Stockholm


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def sink() -> Iterator[JsonSink]:
    s = JsonSink().start()
    yield s
    s.stop()


class World:
    def __init__(self, tmp: Path, sink: JsonSink, clock: Clock, **db: Any) -> None:
        self.tmp, self.sink, self.clock = tmp, sink, clock
        self.settings = load_settings(
            **db,
            data_dir=tmp,
            admin_token=TOKEN,
            rule_overrides={"shed_too_hot": {"hold_s": 60}},
            alerting={
                "recipients": [
                    {"name": "Jour", "url": sink.url("facility"), "tags": ["role:facility"]},
                    {"name": "Beredskap", "url": sink.url("oncall"), "tags": ["role:oncall"]},
                    {
                        "name": "Natt Norr",
                        "url": sink.url("care"),
                        "tags": ["care_unit:norr", "role:night_staff"],
                    },
                ],
                "reminder_s": {"critical": 300, "warning": 0},
                "escalation": [{"after_s": 600, "roles": ["oncall"]}],
                "retry_first_s": 0.2,
            },
        )
        self.db = db = make_engine(self.settings.db_url)
        Base.metadata.create_all(db)
        self.sessions = make_sessionmaker(db)
        self.registry = DeviceRegistry(self.sessions)
        self.alerting = self.build()

    def build(self) -> Alerting:
        alerting = build_alerting(self.settings, self.sessions, self.registry, self.clock)
        alerting.notifier.start()
        alerting.engine.restore(self.clock())
        return alerting

    def restart(self) -> None:
        self.alerting.notifier.stop()
        self.alerting = self.build()

    def device(self, dev_id: str, type_: str, site: str | None = None, **kw: Any) -> None:
        self.registry.create(DeviceCreate(id=dev_id, type=type_, site_id=site, **kw), now=T0)

    def read(self, dev_id: str, metric: str, value: Any, seconds: float) -> None:
        at = self.clock.at(seconds)
        info = self.registry.info(dev_id)
        assert info is not None
        self.alerting.engine.on_readings([(info, Reading(dev_id, at, metric, value))])

    def tick(self, seconds: float) -> None:
        self.alerting.engine.tick(self.clock.at(seconds))

    def titles(self, path: str) -> list[str]:
        return [b["title"] for b in self.sink.at(path)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, sink: JsonSink) -> Iterator[World]:
    db = {}
    if request.param == "postgres":  # the partial unique index, JSON columns, UTC times
        db["database_url"] = request.getfixturevalue("pg_cluster").create_database()
    w = World(tmp_path, sink, Clock(), **db)
    w.registry.create_site(SiteCreate(id="vattenverket", name="Vattenverket"))
    yield w
    w.alerting.notifier.stop()
    w.db.dispose()


def settle(world: World, path: str, count: int) -> list[str]:
    wait_for(lambda: len(world.sink.at(path)) >= count, what=f"{count} message(s) at /{path}")
    return world.titles(path)


def test_flapping_gives_one_message_per_state_change(world: World) -> None:
    world.device("tb-7", "technical_shed_temperature", "vattenverket", name="Teknikbod 7")
    # 25.5 held for the 60 s hold → warning; then oscillating 24.2..25.4 (inside the 1 °C
    # hysteresis band) for ten minutes: no new message; 23.5 resolves
    world.read("tb-7", "temperature", 25.5, 0)
    world.read("tb-7", "temperature", 25.5, 60)
    for i in range(60):
        world.read("tb-7", "temperature", 24.2 if i % 2 else 25.4, 70 + i * 10)
        world.tick(75 + i * 10)
    world.read("tb-7", "temperature", 23.5, 700)
    titles = settle(world, "facility", 2)
    assert [t.split(":")[0] for t in titles] == ["Varning", "Återställt"]
    assert len(world.alerting.store.list()) == 1


def test_severity_change_updates_the_same_alert_with_one_message(world: World) -> None:
    world.device("tb-7", "technical_shed_temperature", "vattenverket", name="Teknikbod 7")
    world.read("tb-7", "temperature", 26.0, 0)
    world.tick(60)
    world.read("tb-7", "temperature", 31.0, 70)
    world.tick(130)
    world.tick(131)
    titles = settle(world, "facility", 2)
    assert titles[0].startswith("Varning: Teknikbod 7 (Vattenverket)")
    # since when: the crossing (10:00 local), not the end of the 60 s hold
    first = world.sink.at("facility")[0]["message"]
    assert "Temperatur 26 °C, gräns 25 °C. Över gränsen sedan 2026-06-03 10:00." in first
    assert titles[1].startswith("Kritiskt larm (var Varning): Teknikbod 7")
    assert len(world.alerting.store.list()) == 1


def test_silence_records_but_holds_back_and_announces_after(world: World) -> None:
    store = world.alerting.silences
    world.device("frys-1", "freezer", "vattenverket", name="Frys 1", place="Köket")
    store.create(
        "device", "frys-1", T0, T0 + timedelta(minutes=30), "byte av givare", "tekniker", T0
    )
    world.read("frys-1", "door_open", True, 0)
    world.tick(600)  # door open 10 min: the alert fires, stored, but nobody is paged
    alert = world.alerting.store.list(state="active")[0]
    assert alert.rule == "freezer_door_open_too_long"
    deliveries = world.alerting.outbox.deliveries(alert.id)
    assert [d.outcome for d in deliveries] == ["suppressed"]
    world.tick(1799)
    assert world.sink.at("facility") == []
    world.tick(1800)  # the window ends with the door still open: announced now
    # (the freezer also went silent at 1800 s: the no-data rule's own warning)
    settle(world, "facility", 2)
    (body,) = [
        b["message"] for b in world.sink.at("facility")
        if b["title"].startswith("Varning (efter underhållsfönster): Frys 1 (Vattenverket, Köket)")
    ]  # fmt: skip
    assert "Dörren är öppen sedan" in body
    assert "/ack/" in body


def test_closing_time_check_runs_from_the_clock(world: World) -> None:
    world.registry.create_site(
        SiteCreate(
            id="skolan",
            name="Norra skolan",
            opening_hours={d: {"open": "07:00", "close": "16:00"} for d in ("mon", "wed")},
        )
    )
    world.device("larm-1", "premises_alarm", "skolan", name="Larmcentral")
    world.read("larm-1", "armed", False, 0)  # 10:00 local, disarmed during the day
    closing = 6 * 3600  # 16:00 local (CEST)
    rule = "premises_not_armed_after_closing"
    world.tick(closing - 1)
    assert world.alerting.store.list(state="active", rule=rule) == []
    world.tick(closing)  # no reading arrives: the clock runs the check
    (alert,) = world.alerting.store.list(state="active", rule=rule)
    assert (alert.rule, alert.severity) == ("premises_not_armed_after_closing", "critical")
    titles = settle(world, "facility", 2)
    (body,) = [
        b["message"] for b in world.sink.at("facility")
        if b["title"].startswith("Kritiskt larm: Larmcentral (Norra skolan)")
    ]  # fmt: skip
    assert "Larmet är inte tillkopplat efter stängningstid" in body
    assert [t for t in titles if "offline" in t] == []


def test_silent_device_and_lwt(world: World) -> None:
    world.device("frys-2", "freezer", "vattenverket", name="Frys 2")
    world.read("frys-2", "temperature", -21.0, 0)
    world.tick(1799)
    world.tick(1800)  # 3 × 600 s without a word
    (alert,) = world.alerting.store.list(state="active")
    assert (alert.rule, alert.severity) == ("device_silent", "warning")
    world.read("frys-2", "temperature", -21.0, 1900)
    assert world.alerting.store.list(state="active") == []
    world.read("frys-2", "online", False, 2000)  # LWT: at once
    (alert,) = world.alerting.store.list(state="active")
    assert "offline" in (alert.message or "")


def test_care_alert_goes_to_the_units_night_staff_only(world: World) -> None:
    engine = world.alerting.engine
    engine.raise_external(
        "boende-12", "missed_check", "critical", "Tillsyn 02:00 missad, rum 12",
        ["care_unit:norr", "role:night_staff"], world.clock.at(0),
    )  # fmt: skip
    engine.raise_external(
        "boende-40", "missed_check", "critical", "Tillsyn missad, rum 40",
        ["care_unit:syd", "role:night_staff"], world.clock.at(1),
    )  # fmt: skip
    titles = settle(world, "care", 1)
    assert titles == ["Kritiskt larm: Tillsyn 02:00 missad, rum 12 (vårdenhet norr)"]
    assert "Tillsyn 02:00 missad, rum 12" in world.sink.at("care")[0]["message"]
    assert world.sink.at("facility") == []


def test_restart_neither_repeats_nor_forgets(world: World) -> None:
    world.device("tb-7", "technical_shed_temperature", "vattenverket", name="Teknikbod 7")
    world.read("tb-7", "temperature", 31.0, 0)
    world.tick(60)
    world.tick(360)  # one reminder (300 s)
    titles = settle(world, "facility", 2)
    assert titles[1].startswith("Påminnelse 1: Kritiskt larm")
    world.restart()
    world.read("tb-7", "temperature", 31.5, 400)  # still hot: no new alert, no message
    world.tick(401)
    world.tick(659)
    assert world.sink.at("oncall") == []
    world.tick(660)  # escalation to on-call 10 min after the alert started (at 60 s)
    settle(world, "oncall", 1)
    world.restart()
    world.tick(960)  # reminders continue, numbered on, to facility and the escalated role
    titles = settle(world, "facility", 3)
    assert titles[2].startswith("Påminnelse 2: Kritiskt larm")
    assert [t.split(":")[0] for t in settle(world, "oncall", 2)] == [
        "Eskalerat, ej kvitterat",
        "Påminnelse 2",
    ]
    assert len(world.alerting.store.list()) == 1
    alert = world.alerting.store.list()[0]
    world.alerting.engine.acknowledge(alert.id, "anna", world.clock.at(1000), None)
    world.tick(2000)
    world.read("tb-7", "temperature", 20.0, 2100)
    titles = settle(world, "facility", 4)
    assert titles[3].startswith("Återställt: Teknikbod 7")
    assert "Kvitterat av anna" in world.sink.at("facility")[3]["message"]
    assert len(world.sink.at("facility")) == 4  # nothing between the ack and the recovery


def test_conditions_building_up_survive_a_restart(world: World) -> None:
    world.registry.create_site(
        SiteCreate(
            id="skolan",
            name="Norra skolan",
            opening_hours={"wed": {"open": "07:00", "close": "16:00"}},
        )
    )
    world.device("frys-1", "freezer", "skolan", name="Frys 1")
    world.device("larm-1", "premises_alarm", "skolan", name="Larmcentral")
    world.read("frys-1", "door_open", True, 0)  # open at 10:00; 10 min hold
    world.read("larm-1", "armed", False, 0)  # disarmed at 10:00; checked at 16:00
    world.read("frys-1", "temperature", -16.0, 10)  # above -18 °C; 30 min hold
    world.restart()  # nothing has fired yet
    world.tick(599)
    assert world.alerting.store.list(state="active", rule="freezer_door_open_too_long") == []
    world.tick(600)  # the door's hold carried on across the restart
    assert world.alerting.store.list(state="active", rule="freezer_door_open_too_long")
    world.tick(1810)  # as did the temperature's
    (warm,) = world.alerting.store.list(state="active", rule="freezer_too_warm")
    assert warm.value == -16.0
    world.restart()
    world.tick(6 * 3600)  # closing time, no reading since 10:00 and two restarts
    assert world.alerting.store.list(state="active", rule="premises_not_armed_after_closing")


def test_kept_conditions_resume_from_rows_as_stored(world: World) -> None:
    """Rows of alert_rule_state as the platform has always written them (a threshold's levels,
    ``*`` for the other kinds; ISO instants) resume after an upgrade."""
    from alerts.models import RuleStateRow

    world.device("frys-1", "freezer", "vattenverket", name="Frys 1")
    world.device("tb-7", "technical_shed_temperature", "vattenverket", name="Teknikbod 7")
    started = T0.isoformat()
    with world.sessions() as s:
        s.add_all([
            RuleStateRow(device_id="frys-1", rule="freezer_door_open_too_long",
                         since={"*": started}, value=True, updated_at=T0),
            RuleStateRow(device_id="tb-7", rule="shed_too_hot",
                         since={"warning": started}, value=26.5, updated_at=T0),
            RuleStateRow(device_id="frys-1", rule="device_silent",  # silence: never kept
                         since={"*": started}, value=None, updated_at=T0),
        ])  # fmt: skip
        s.commit()
    world.clock.at(30)
    world.restart()
    world.tick(59)
    assert world.alerting.store.list(state="active") == []
    world.tick(60)  # the shed's hold (60 s here) ran from the kept instant, not the restart
    (hot,) = world.alerting.store.list(state="active", rule="shed_too_hot")
    assert (hot.severity, hot.value) == ("warning", 26.5)
    world.tick(599)
    assert world.alerting.store.list(state="active", rule="freezer_door_open_too_long") == []
    world.tick(600)  # as did the door's 10 min
    assert world.alerting.store.list(state="active", rule="freezer_door_open_too_long")
    assert world.alerting.store.list(state="active", rule="device_silent") == []


def test_safety_alarm_of_a_care_unit_reaches_its_night_staff_only(world: World) -> None:
    from devices.schemas import CareUnitCreate

    world.registry.create_care_unit(CareUnitCreate(id="norr", name="Norr"))
    world.device("larm-12", "safety_alarm", care_unit_id="norr", name="Larmknapp rum 12")
    world.read("larm-12", "alarm_button", True, 0)  # at once, no hold
    world.read("larm-12", "alarm_button", False, 5)  # released: latched, stays
    (alert,) = world.alerting.store.list(state="active", rule="safety_alarm_pressed")
    assert set(alert.tags) == {"role:night_staff", "care_unit:norr"}
    rules = {e.name: e.roles for e in world.alerting.engine.rules_for("safety_alarm")}
    assert rules["device_silent"] == ("night_staff", "technician")
    titles = settle(world, "care", 1)
    assert titles == ["Kritiskt larm: Larmknapp rum 12 (vårdenhet norr)"]
    assert world.sink.at("facility") == []


def test_nothing_fails_silently(world: World) -> None:
    from alerts.config import AlertingConfig
    from tests.support.net import free_port

    dead = f"json://127.0.0.1:{free_port()}/x"  # nothing listens there
    config = AlertingConfig.model_validate(
        {
            "recipients": [
                {"name": "Jour", "url": world.sink.url("facility"), "tags": ["site:vattenverket"]},
                {"name": "Skolans jour", "url": dead, "tags": ["site:skola"]},
            ],
            "escalation": [],
            "retry_first_s": 1,
            "retry_max_s": 1,
            "give_up_after_s": 5,
        }
    )
    world.settings = world.settings.model_copy(update={"alerting": config})
    world.restart()
    for site in ("skola", "hamnen"):
        world.registry.create_site(SiteCreate(id=site, name=site.capitalize()))
        world.device(f"lacka-{site}", "water_leak", site, name=f"Läcka {site}")
        world.read(f"lacka-{site}", "water_leak", True, 0)
    outbox = world.alerting.outbox
    # an alert no recipient matches is on record as unrouted, not dropped without a word
    (unrouted,) = outbox.deliveries(outcome="unrouted")
    assert "site:hamnen" in (unrouted.error or "")

    def advance_until_given_up() -> bool:
        world.clock.now += timedelta(seconds=2)
        return bool(outbox.deliveries(outcome="dropped"))

    wait_for(advance_until_given_up, timeout=30, what="the broken channel given up")
    attempts = [d for d in outbox.deliveries() if d.recipient == "Skolans jour"]
    assert attempts[-1].outcome == "failed"  # the first attempt; retried with backoff
    assert attempts[0].outcome == "dropped"  # then given up, on record
    assert outbox.items(state="failed")[0].recipient == "Skolans jour"
    assert world.sink.at("facility") == []


def test_device_in_maintenance_is_quiet_and_a_retired_ones_alert_closes(world: World) -> None:
    from devices.schemas import DeviceUpdate

    world.device("tb-7", "technical_shed_temperature", "vattenverket", name="Teknikbod 7")
    world.read("tb-7", "temperature", 31.0, 0)
    world.tick(60)
    settle(world, "facility", 1)
    world.registry.update("tb-7", DeviceUpdate(state="maintenance"), now=world.clock())
    world.tick(400)  # a reminder is due, but a technician is working on the device
    (alert,) = world.alerting.store.list(state="active")
    assert [t["kind"] for t in world.alerting.store.transitions(alert.id)] == ["fire"]
    world.registry.update("tb-7", DeviceUpdate(state="retired"), now=world.clock())
    world.tick(800)
    (closed,) = world.alerting.store.list()
    assert (closed.state, closed.resolved_by) == ("resolved", "system")
    assert world.alerting.store.transitions(closed.id)[-1]["note"] == "enheten är avvecklad"
    assert len(world.sink.at("facility")) == 1  # neither the reminder nor a recovery went out


def test_a_reading_from_before_a_restart_keeps_the_full_grace(world: World) -> None:
    """A reading that arrives after a start but was made before it (a queued QoS 1 message)
    does not cut the no-data grace short: silence counts from the start."""
    world.device("frys-2", "freezer", "vattenverket", name="Frys 2")
    world.clock.at(1000)
    world.restart()  # watching since 1000 s; the freezer is expected every 600 s, factor 3
    info = world.registry.info("frys-2")
    assert info is not None
    world.alerting.engine.on_readings([(info, Reading("frys-2", T0, "temperature", -21.0))])
    world.tick(2799)  # 1800 s after the reading, but not after the start
    assert world.alerting.store.list(state="active") == []
    world.tick(2800)
    (alert,) = world.alerting.store.list(state="active")
    assert alert.rule == "device_silent"


def test_a_reading_the_rules_cannot_take_does_not_stop_the_others(world: World) -> None:
    """A low battery dated at the end of the calendar cannot be worded in local time (its
    "since" overflows); that reading alone is skipped (counted, logged), the next device's
    reading in the same batch is evaluated."""
    world.device("frys-1", "freezer", "vattenverket", name="Frys 1")
    world.device("tb-7", "technical_shed_temperature", "vattenverket", name="Teknikbod 7")
    frys, shed = world.registry.info("frys-1"), world.registry.info("tb-7")
    assert frys is not None
    assert shed is not None
    far = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    world.alerting.engine.on_readings(
        [
            (frys, Reading("frys-1", far, "battery", 1.0)),
            (shed, Reading("tb-7", world.clock.at(0), "temperature", 31.0)),
        ]
    )
    assert world.alerting.engine.errors == 1
    world.tick(61)
    (alert,) = world.alerting.store.list(state="active")
    assert (alert.device_id, alert.rule) == ("tb-7", "shed_too_hot")


def test_a_clock_running_ahead_does_not_postpone_the_silence_alarm(world: World) -> None:
    """A freezer whose own clock runs four minutes ahead (inside the allowed skew, so its
    reading is stored) falls silent: the silence counts from when it was heard, not from
    the time it claims."""
    world.device("frys-1", "freezer", "vattenverket", name="Frys 1")
    frys = world.registry.info("frys-1")
    assert frys is not None
    world.clock.at(0)
    world.alerting.engine.on_readings(
        [(frys, Reading("frys-1", T0 + timedelta(seconds=240), "temperature", -19.0))]
    )
    world.tick(1799)
    assert world.alerting.store.list(state="active") == []
    world.tick(1801)
    (alert,) = world.alerting.store.list(state="active")
    assert (alert.device_id, alert.rule) == ("frys-1", "device_silent")


def test_a_message_that_cannot_be_made_for_one_recipient_reaches_the_others(
    world: World,
) -> None:
    def body(recipient: str) -> str:
        if recipient == "Jour":
            raise ValueError("a bug making this recipient's text")
        return f"till {recipient}"

    world.device("tb-7", "technical_shed_temperature", "vattenverket", name="Teknikbod 7")
    world.read("tb-7", "temperature", 31.0, 0)
    world.tick(61)
    (alert,) = world.alerting.store.list(state="active")
    notifier = world.alerting.notifier
    names = notifier.dispatch(
        alert.id, "change", "Larm", body, "critical", frozenset({"role:facility", "role:oncall"}),
        world.clock.at(62),
    )  # fmt: skip
    assert names == ["Beredskap"]
    assert settle(world, "oncall", 1) == ["Larm"]
    failed = [d for d in world.alerting.outbox.deliveries(alert.id) if not d.ok]
    assert [(d.recipient, d.outcome) for d in failed] == [("Jour", "failed")]
    assert "internal error" in (failed[0].error or "")
