"""The stories: pure generators of what the devices observe, in simulated time.

Each scenario is told from a fixed local start (a July afternoon, a Tuesday at closing time,
a night) and yields ``Observation``s in time order. ``play`` shifts the story to any start,
encodes it in a payload family and adds the availability messages, still without a broker:
tests read exactly what would be published. Same seed, same story.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from simulators.encoders.base import Encoder
from simulators.model import Observation, SimDevice, SimMessage

__all__ = ["SCENARIOS", "Scenario", "UnsupportedFormat", "play"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
Story = Callable[[datetime, random.Random], Iterator[Observation]]


class UnsupportedFormat(ValueError):
    """The payload family cannot express a metric the story depends on."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    summary: str
    devices: tuple[SimDevice, ...]
    story_start: datetime  # aware, local
    duration: timedelta
    story: Story
    #: metrics the story is about: a family that cannot carry them cannot tell it
    needs: frozenset[str]


def _every(start: datetime, end: datetime, step_s: float) -> Iterator[datetime]:
    at = start
    while at <= end:
        yield at
        at += timedelta(seconds=step_s)


# -- the stories ----------------------------------------------------------------------------

SHED = SimDevice("teknikbod-3", "technical_shed_temperature", "Teknikbod 3", "vattenverket",
                 "Apparatrum")  # fmt: skip
FREEZER = SimDevice("frys-1", "freezer", "Frys 1", "solgardens-kok", "Förråd")
LEAK = SimDevice("lacka-tvattstuga", "water_leak", "Tvättstugan", "solgardens-kok", "Tvättstuga")
BED = SimDevice("sang-rum-12", "bed_sensor", "Säng, rum 12", "bjorkgarden", "Rum 12")
HALL_MOTION = SimDevice("rorelse-rum-12", "motion", "Rörelse, rum 12", "bjorkgarden", "Rum 12")
LIBRARY = SimDevice("klimat-bibliotek", "room_climate", "Biblioteket", "solgardens-kok",
                    "Bibliotek")  # fmt: skip
RECEPTION = SimDevice("klimat-reception", "room_climate", "Receptionen", "vattenverket",
                      "Reception")  # fmt: skip


def shed_heat(start: datetime, rng: random.Random) -> Iterator[Observation]:
    """A July afternoon: 22 °C at noon, past 25 by two, past 30 from about four, then cooling."""
    for at in _every(start, start + timedelta(hours=8), 600):
        hours = (at - start).total_seconds() / 3600
        # a warm bump peaking at 16:30 (31.8 °C), back under 25 by eight in the evening
        temp = 22.0 + 9.8 * math.exp(-(((hours - 4.5) / 2.1) ** 2)) + rng.gauss(0, 0.15)
        values = {"temperature": round(temp, 1), "humidity": round(38 - (temp - 22) * 0.8, 1),
                  "battery": 96.0, "rssi": float(rng.randint(-104, -96))}  # fmt: skip
        yield Observation(at, SHED, values)


def freezer_door(start: datetime, rng: random.Random) -> Iterator[Observation]:
    """15:00 on a Tuesday: at 15:52 the door is left ajar as the kitchen closes at 16:00."""
    opened = start + timedelta(minutes=52)
    temp = -20.0
    yield Observation(start, FREEZER, {"door_open": False, "temperature": temp, "battery": 88.0})
    for at in _every(start + timedelta(minutes=10), start + timedelta(hours=2, minutes=30), 600):
        if opened < at:
            temp = min(-6.0, temp + 1.3 + rng.uniform(0, 0.4))  # warm air pours in
        else:
            temp = -20.0 + rng.gauss(0, 0.3)
        if opened < at <= opened + timedelta(minutes=10):
            # contact sensors report a change at once, not on the next heartbeat
            yield Observation(opened, FREEZER, {"door_open": True})
        yield Observation(at, FREEZER, {"temperature": round(temp, 1),
                                        "door_open": opened < at, "battery": 88.0})  # fmt: skip


def leak(start: datetime, rng: random.Random) -> Iterator[Observation]:
    """Midnight in the laundry: a hose bursts at 03:17, the janitor stops it at 05:05."""
    wet_from = start + timedelta(hours=3, minutes=17)
    dry_from = start + timedelta(hours=5, minutes=5)
    # leak sensors report a change at once and otherwise once an hour (Netvox R718WB)
    changes = [
        Observation(wet_from, LEAK, {"water_leak": True}),
        Observation(dry_from, LEAK, {"water_leak": False}),
    ]
    beats = (
        Observation(at, LEAK, {"water_leak": wet_from <= at < dry_from, "battery": 71.0})
        for at in _every(start, start + timedelta(hours=6), 3600)
    )
    yield from heapq.merge(changes, beats, key=lambda o: o.at)


def night_wander(start: datetime, rng: random.Random) -> Iterator[Observation]:
    """22:00: in bed; up at 02:10, still up at the 02:30 check, back in bed at 02:55."""
    up = start + timedelta(hours=4, minutes=10)
    back = start + timedelta(hours=4, minutes=55)
    events = [
        Observation(up, BED, {"in_bed": False}),
        Observation(up + timedelta(seconds=40), HALL_MOTION, {"motion": True, "occupancy": True}),
        Observation(back - timedelta(minutes=2), HALL_MOTION, {"motion": True, "occupancy": True}),
        Observation(back, BED, {"in_bed": True}),
        Observation(
            back + timedelta(minutes=3), HALL_MOTION, {"motion": False, "occupancy": False}
        ),
    ]
    beats = (
        Observation(at, BED, {"in_bed": not (up <= at < back), "battery": 93.0})
        for at in _every(start, start + timedelta(hours=6), 300)
    )
    yield from heapq.merge(events, beats, key=lambda o: o.at)


def battery_death(start: datetime, rng: random.Random) -> Iterator[Observation]:
    """A climate sensor whose cell is at 14 %: it sags, browns out at 2 % and falls silent."""
    battery = 14.0
    for at in _every(start, start + timedelta(hours=4), 600):
        if battery < 2:
            return  # the radio needs more than the cell gives: silence, not a last word
        yield Observation(at, LIBRARY, {"temperature": round(20.5 + rng.gauss(0, 0.2), 1),
                                        "humidity": round(rng.uniform(35, 40), 1),
                                        "co2": float(rng.randint(500, 700)),
                                        "battery": battery,
                                        "voltage": round(2.2 + battery / 100, 2)})  # fmt: skip
        battery -= 1.0 if battery > 6 else 2.0


def offline(start: datetime, rng: random.Random) -> Iterator[Observation]:
    """Reporting every 10 min; at +35 min the power goes (its will), back at +95 min."""
    gone = start + timedelta(minutes=35)
    back = start + timedelta(minutes=95)
    changes = [
        Observation(gone, RECEPTION, online=False),
        Observation(back, RECEPTION, online=True),
    ]
    beats = (
        Observation(at, RECEPTION, {"temperature": round(21 + rng.gauss(0, 0.3), 1),
                                    "humidity": round(rng.uniform(30, 45), 1),
                                    "co2": float(rng.randint(450, 900)), "battery": 80.0})
        for at in _every(start, start + timedelta(hours=2, minutes=30), 600)
        if not gone <= at < back
    )  # fmt: skip
    yield from heapq.merge(changes, beats, key=lambda o: o.at)


def _local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("shed-heat", "teknikbod värms en sommareftermiddag förbi 25 och 30 °C",
                 (SHED,), _local(2026, 7, 14, 12, 0), timedelta(hours=8), shed_heat,
                 frozenset({"temperature"})),
        Scenario("freezer-door", "frysdörren står öppen när köket stänger 16:00",
                 (FREEZER,), _local(2026, 3, 10, 15, 0), timedelta(hours=2, minutes=30),
                 freezer_door, frozenset({"door_open", "temperature"})),
        Scenario("leak", "vattenläcka i tvättstugan 03:17, stoppad 05:05",
                 (LEAK,), _local(2026, 11, 3, 0, 0), timedelta(hours=6), leak,
                 frozenset({"water_leak"})),
        Scenario("night-wander", "boende går upp 02:10 och är inte tillbaka vid tillsynen 02:30",
                 (BED, HALL_MOTION), _local(2026, 11, 3, 22, 0), timedelta(hours=6),
                 night_wander, frozenset({"in_bed"})),
        Scenario("battery-death", "en sensor vars batteri tar slut och som sedan tystnar",
                 (LIBRARY,), _local(2026, 11, 4, 8, 0), timedelta(hours=4), battery_death,
                 frozenset({"battery"})),
        Scenario("offline", "en enhet tappar strömmen (LWT) och kommer tillbaka",
                 (RECEPTION,), _local(2026, 11, 4, 9, 0), timedelta(hours=2, minutes=30),
                 offline, frozenset({"temperature"})),
    )
}  # fmt: skip


def check_format(scenario: Scenario, encoder: Encoder) -> None:
    missing = sorted(scenario.needs - encoder.metrics)
    if missing:
        raise UnsupportedFormat(
            f"{encoder.family} cannot carry {', '.join(missing)}, which {scenario.name} is about"
        )


def play(
    scenario: Scenario,
    encoder: Encoder,
    *,
    seed: int = 1,
    start: datetime | None = None,
    time_scale: float = 1.0,
) -> Iterator[SimMessage]:
    """The scenario's messages in ``encoder``'s family, shifted to ``start`` (default: the
    story's own start), with every device announcing itself online first.

    ``time_scale`` > 1 compresses the story's clock itself: at 60, an hour of story is a
    minute of message times. Played at the same speed, message times then stay on the wall
    clock, which rules that look at the clock (closing time, silence) need; devices simply
    seem to report sixty times as often.
    """
    check_format(scenario, encoder)
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    origin = scenario.story_start if start is None else start
    rng = random.Random(seed)

    def when(at: datetime) -> datetime:
        return origin + (at - scenario.story_start) / time_scale

    seq: dict[str, int] = {}
    for device in scenario.devices:
        msg = encoder.online(device, origin)
        if msg is not None:
            yield msg
    for obs in scenario.story(scenario.story_start, rng):
        at = when(obs.at)
        if obs.online is False:
            msg = encoder.offline(obs.device, at)
            if msg is not None:
                yield msg
            continue
        if obs.online is True:
            msg = encoder.online(obs.device, at)
            if msg is not None:
                yield msg
            continue
        n = seq.get(obs.device.id, 0)
        seq[obs.device.id] = n + 1
        yield from encoder.uplink(Observation(at, obs.device, obs.values), n)
