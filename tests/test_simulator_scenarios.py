"""The scenario stories: deterministic under a seed, and they tell what they promise."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from simulators.encoders import ENCODERS
from simulators.scenarios import SCENARIOS, STOCKHOLM, play

NATIVE = ENCODERS["native"]


def _story(name: str, seed: int = 1) -> list:
    s = SCENARIOS[name]
    return list(s.story(s.story_start, random.Random(seed)))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_messages_other_seed_other_noise(name: str) -> None:
    s = SCENARIOS[name]
    a = [(m.at, m.topic, m.payload) for m in play(s, NATIVE, seed=5)]
    b = [(m.at, m.topic, m.payload) for m in play(s, NATIVE, seed=5)]
    assert a == b
    assert a, name
    times = [m[0] for m in a]
    assert times == sorted(times), "messages come in time order"
    assert times[-1] - times[0] <= s.duration


def test_noise_depends_on_the_seed() -> None:
    s = SCENARIOS["shed-heat"]
    assert [m.payload for m in play(s, NATIVE, seed=1)] != [
        m.payload for m in play(s, NATIVE, seed=2)
    ]


def test_play_shifts_the_story_to_a_start() -> None:
    s = SCENARIOS["leak"]
    start = datetime(2030, 1, 1, 12, tzinfo=UTC)
    shifted = list(play(s, NATIVE, start=start))
    own = list(play(s, NATIVE))
    assert shifted[0].at == start
    assert [m.at - start for m in shifted] == [m.at - s.story_start for m in own]


def test_shed_warms_past_25_then_30_and_stays_long_enough_to_alert() -> None:
    temps = [(o.at, o.values["temperature"]) for o in _story("shed-heat")]
    first_25 = next(at for at, t in temps if t > 25)
    first_30 = next(at for at, t in temps if t > 30)
    assert first_25 < first_30
    assert first_25.astimezone(STOCKHOLM).hour in (13, 14)
    above_30 = [at for at, t in temps if t > 30]
    assert above_30[-1] - above_30[0] >= timedelta(minutes=30)  # the rule holds 5 min
    assert temps[-1][1] < 25  # and it cools in the evening


def test_freezer_door_is_open_at_closing_time_and_the_freezer_warms() -> None:
    obs = _story("freezer-door")
    closing = datetime(2026, 3, 10, 16, 0, tzinfo=STOCKHOLM)
    door = [(o.at, o.values["door_open"]) for o in obs if "door_open" in o.values]
    opened = next(at for at, v in door if v)
    assert opened < closing
    assert all(v for at, v in door if at >= opened)
    temps = [o.values["temperature"] for o in obs if "temperature" in o.values]
    assert temps[0] <= -18
    assert temps[-1] > -15


def test_leak_starts_at_0317_and_is_stopped() -> None:
    obs = _story("leak")
    wet = [o.at.astimezone(STOCKHOLM) for o in obs if o.values.get("water_leak") is True]
    assert (wet[0].hour, wet[0].minute) == (3, 17)
    assert obs[-1].values["water_leak"] is False


def test_resident_up_at_0210_and_not_back_at_the_0230_check() -> None:
    obs = [o for o in _story("night-wander") if "in_bed" in o.values]
    check = datetime(2026, 11, 4, 2, 30, tzinfo=STOCKHOLM)
    up = next(o.at for o in obs if o.values["in_bed"] is False)
    assert up.astimezone(STOCKHOLM).strftime("%H:%M") == "02:10"
    latest_before_check = [o for o in obs if o.at <= check][-1]
    assert latest_before_check.values["in_bed"] is False
    assert obs[-1].values["in_bed"] is True


def test_battery_sags_and_then_the_device_falls_silent() -> None:
    obs = _story("battery-death")
    levels = [o.values["battery"] for o in obs]
    assert levels == sorted(levels, reverse=True)
    assert levels[-1] < 5
    s = SCENARIOS["battery-death"]
    assert obs[-1].at < s.story_start + s.duration - timedelta(hours=1)  # silence after


def test_offline_device_sends_its_will_then_comes_back() -> None:
    msgs = list(play(SCENARIOS["offline"], NATIVE))
    kinds = [m.kind for m in msgs]
    will = kinds.index("will")
    assert orjson.loads(msgs[will].payload) == {"values": {"online": False}}
    back = kinds.index("availability", will)
    assert orjson.loads(msgs[back].payload)["values"] == {"online": True}
    gap = msgs[back].at - msgs[will].at
    assert gap == timedelta(minutes=60)
    assert all(k != "uplink" for k in kinds[will + 1 : back])  # silent while off


def test_offline_over_lorawan_is_silence_then_a_join() -> None:
    msgs = list(play(SCENARIOS["offline"], ENCODERS["chirpstack"]))
    assert all(m.kind != "will" for m in msgs)
    joins = [m for m in msgs if m.topic.endswith("/event/join")]
    assert len(joins) == 2  # at the start, and when it comes back
