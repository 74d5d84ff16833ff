"""The demo: its timeline (pure) and its seeding into a real in-process platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from ingest.formats import FormatRouter
from simulators.demo import DEMO_CARE_UNIT, DEMO_DEVICES, DEMO_RESIDENT, demo_plan, demo_stream
from simulators.scenarios import STOCKHOLM

NOW = datetime(2026, 11, 22, 20, 40, 12, tzinfo=UTC)


def _refs() -> dict[str, str]:
    out = {}
    for d in DEMO_DEVICES:
        out[str(d["id"])] = str(d["id"])
        for ref in d.get("refs", []):  # type: ignore[attr-defined]
            out[ref["ref"]] = str(d["id"])
    return out


def test_every_demo_message_decodes_to_a_registered_device() -> None:
    plan = demo_plan(NOW)
    router = FormatRouter()
    refs = _refs()
    msgs = list(demo_stream(plan))
    families = set()
    for m in msgs:
        decoded = router.decode(m.topic, m.payload, m.at)
        families.add(decoded.family)
        for r in decoded.readings:
            assert r.device_ref in refs, (m.topic, r.device_ref)
    assert families >= {"chirpstack", "ttn", "zigbee2mqtt", "tasmota", "senml"}
    assert msgs[0].at >= plan.start
    assert msgs[-1].at - plan.start < timedelta(minutes=25)


def test_the_shed_is_hot_long_enough_in_real_time_for_its_rule() -> None:
    # Message times are wall-clock times in the demo, and the rule holds 5 minutes of them.
    plan = demo_plan(NOW)
    router = FormatRouter()
    temps = []
    for m in demo_stream(plan):
        if "/event/up" in m.topic:
            for r in router.decode(m.topic, m.payload, m.at).readings:
                if r.device_ref.startswith("70b3d5") and r.metric == "temperature":
                    temps.append((m.at, r.value))
    for limit, latest in ((25.0, timedelta(minutes=1)), (30.0, timedelta(minutes=6))):
        above = [at for at, t in temps if t > limit]
        assert above[0] - plan.start <= latest, limit
        assert above[-1] - above[0] >= timedelta(minutes=5, seconds=30), limit


def test_demo_timeline_closing_and_night_check() -> None:
    plan = demo_plan(NOW)
    assert plan.start < plan.closing < plan.check <= plan.start + timedelta(minutes=7)
    msgs = list(demo_stream(plan))
    door = [
        (m.at, not orjson.loads(m.payload)["contact"])
        for m in msgs
        if m.topic == "zigbee2mqtt/frys-1" and b"contact" in m.payload
    ]
    assert any(open_ for at, open_ in door if at < plan.closing)
    assert all(open_ for at, open_ in door if at >= plan.closing)
    bed = []
    for m in msgs:
        if m.topic == "senml/sang-rum-12":
            record = orjson.loads(m.payload)[0]
            if record.get("n") == "in_bed":
                bed.append((m.at, record["vb"]))
    before_check = [v for at, v in bed if at <= plan.check]
    assert before_check[-1] is False  # up at "02:10", not back at the check
    assert bed[-1][1] is True
    hours = plan.opening_hours()["tue"]
    assert hours["close"] == plan.closing.astimezone(STOCKHOLM).strftime("%H:%M")


def test_seed_demo_registers_everything_and_is_idempotent(platform: object) -> None:
    from gateway.demo import seed_demo

    p = platform  # an in-process Platform (tests/conftest.py)
    plan = seed_demo(p, now=NOW)  # type: ignore[arg-type]
    seed_demo(p, now=NOW + timedelta(minutes=1))  # type: ignore[arg-type]
    registry = p.registry  # type: ignore[attr-defined]
    for ref, device_id in _refs().items():
        info = registry.lookup(ref)
        assert info is not None, ref
        assert info.id == device_id
    kitchen = registry.get_site("solgardens-kok")
    assert kitchen.opening_hours is not None
    service = getattr(p, "supervision", None)
    if service is not None:
        of_unit = service.residents.of_unit
        residents = [r for r in of_unit(DEMO_CARE_UNIT["id"]) if r.label == DEMO_RESIDENT["label"]]
        assert len(residents) == 1  # seeded once, however often the demo starts
        schedules = service.schedules.of(residents[0].id)
        assert len(schedules) == 1
        assert plan is not None
