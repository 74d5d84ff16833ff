"""The demo municipality: sites, a care unit, a shed, a kitchen, and their stories at ×60.

``demo_plan(now)`` fixes the timeline so that everything lands within minutes of starting:
the shed is past 25 °C from the start and past 30 °C after four minutes (its rule holds five,
so warning at about 5 and critical at about 9 minutes; it runs at ×15), the laundry floods
and is stopped, a climate sensor's battery
dies, the reception sensor loses power and comes back, the kitchen closes two minutes after
the start with the freezer door ajar, and at the resident's night check (five minutes after
the start) the bed is empty. Every device speaks its own payload family, so the demo also
shows the gateway reading ChirpStack, TTN, zigbee2mqtt, Tasmota, SenML and native at once.

Message times follow the wall clock (``time_scale``): rules that look at the clock (closing
time, silence, the night check) see the story at the same moment as the readings.
"""

from __future__ import annotations

import heapq
import logging
import math
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from devices.catalogue import CATALOGUE
from simulators.behaviour import ordinary_values
from simulators.encoders import ENCODERS, Encoder
from simulators.model import Observation, SimDevice, SimMessage, Value
from simulators.scenarios import SCENARIOS, STOCKHOLM, play

__all__ = [
    "DEMO_CARE_UNIT",
    "DEMO_DEVICES",
    "DEMO_RESIDENT",
    "DEMO_SITES",
    "DemoPlan",
    "DemoSimulator",
    "demo_plan",
    "demo_stream",
]

log = logging.getLogger(__name__)

SPEED = 60.0
#: the shed needs its rule's 5 minutes above 25 and above 30 °C in real time: a slower clock,
#: starting at 15:00 when it is already past 25
SHED_SPEED = 15.0

DEMO_SITES = [
    {"id": "vattenverket", "name": "Vattenverket", "address": "Verkvägen 3"},
    {"id": "solgardens-kok", "name": "Solgårdens skola, kök", "address": "Skolgatan 1"},
    {"id": "bjorkgarden", "name": "Björkgårdens äldreboende", "address": "Björkvägen 12"},
]
DEMO_CARE_UNIT = {"id": "bjorkgarden-natt", "name": "Björkgården, nattpatrull",
                  "site_id": "bjorkgarden"}  # fmt: skip
DEMO_RESIDENT = {"label": "Rum 12, A.K.", "care_unit_id": DEMO_CARE_UNIT["id"]}

#: scenario -> payload family its devices speak in the demo
_FAMILY_OF = {
    "shed-heat": "chirpstack",
    "leak": "ttn",
    "freezer-door": "zigbee2mqtt",
    "night-wander": "senml",
    "battery-death": "zigbee2mqtt",
    "offline": "tasmota",
}
#: a plain device that just reports, in our own format
DINING = SimDevice("matsal-klimat", "room_climate", "Matsalen", "solgardens-kok", "Matsal")


def _encoder_of(device: SimDevice) -> Encoder:
    if device == DINING:
        return ENCODERS["native"]
    for name, family in _FAMILY_OF.items():
        if device in SCENARIOS[name].devices:
            return ENCODERS[family]
    return ENCODERS["native"]


DEMO_DEVICE_LIST: list[SimDevice] = [
    *(d for name in _FAMILY_OF for d in SCENARIOS[name].devices),
    DINING,
]
#: registrations: id, type, name, site, place and the ref its family uses
DEMO_DEVICES: list[dict[str, object]] = [
    {
        "id": d.id,
        "type": d.type,
        "name": d.name,
        "site_id": d.site_id,
        "place": d.place,
        **(
            {"refs": [{"source": _encoder_of(d).source, "ref": _encoder_of(d).ref(d)}]}
            if _encoder_of(d).ref(d) != d.id
            else {}
        ),
    }
    for d in DEMO_DEVICE_LIST
]


@dataclass(frozen=True, slots=True)
class DemoPlan:
    start: datetime  # UTC, when the stories begin
    closing: datetime  # the kitchen closes (a whole minute)
    check: datetime  # the resident's night check (a whole minute)

    @property
    def closing_local(self) -> str:
        return self.closing.astimezone(STOCKHOLM).strftime("%H:%M")

    @property
    def check_local(self) -> str:
        return self.check.astimezone(STOCKHOLM).strftime("%H:%M")

    def opening_hours(self) -> dict[str, dict[str, str]]:
        """Open from early morning (or from midnight) until the demo's closing minute."""
        close = self.closing.astimezone(STOCKHOLM).time()
        opens = time(6, 0) if close > time(6, 30) else time(0, 0)
        day = {"open": opens.strftime("%H:%M"), "close": close.strftime("%H:%M")}
        return {d: dict(day) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _next_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def demo_plan(now: datetime) -> DemoPlan:
    start = now.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=5)
    return DemoPlan(
        start,
        _next_minute(start + timedelta(minutes=2)),
        _next_minute(start + timedelta(minutes=5)),
    )


def _anchored(name: str, story_at: datetime, real_at: datetime, speed: float = SPEED) -> datetime:
    """The start that puts the story's moment ``story_at`` at ``real_at`` (clock ×speed)."""
    story = SCENARIOS[name]
    return real_at - (story_at - story.story_start) / speed


def demo_stream(plan: DemoPlan, seed: int = 1) -> Iterator[SimMessage]:
    """Every demo story, merged in time order; messages before ``plan.start`` are dropped."""
    starts = {name: plan.start for name in _FAMILY_OF}
    speeds = {name: SPEED for name in _FAMILY_OF}
    speeds["shed-heat"] = SHED_SPEED
    shed = SCENARIOS["shed-heat"].story_start
    starts["shed-heat"] = _anchored("shed-heat", shed.replace(hour=15), plan.start, SHED_SPEED)
    fd = SCENARIOS["freezer-door"].story_start
    starts["freezer-door"] = _anchored("freezer-door", fd.replace(hour=16, minute=0), plan.closing)
    nw = SCENARIOS["night-wander"].story_start
    check_story = (nw + timedelta(days=1)).replace(hour=2, minute=30)
    starts["night-wander"] = _anchored("night-wander", check_story, plan.check)
    streams = [
        play(
            SCENARIOS[name],
            ENCODERS[family],
            seed=seed,
            start=starts[name],
            time_scale=speeds[name],
        )
        for name, family in _FAMILY_OF.items()
    ]
    for msg in heapq.merge(*streams, key=lambda m: m.at):
        if msg.at >= plan.start:
            yield msg


def _final_values(seed: int) -> dict[str, dict[str, Value]]:
    """What each story device last said: after its story, it keeps saying it (the freezer door
    stays open until someone closes it)."""
    last: dict[str, dict[str, Value]] = {}
    for name in _FAMILY_OF:
        story = SCENARIOS[name]
        for obs in story.story(story.story_start, random.Random(seed)):
            last.setdefault(obs.device.id, {}).update(obs.values)
    return last


def heartbeats(start: datetime, every_s: float, seed: int = 1) -> Iterator[SimMessage]:
    """After the stories: the devices that still live keep reporting, every ``every_s``."""
    rng = random.Random(seed)
    quiet = set(SCENARIOS["battery-death"].devices)
    alive = [d for d in DEMO_DEVICE_LIST if d not in quiet]
    final = _final_values(seed)
    for k in range(1_000_000_000):
        at = start + timedelta(seconds=every_s * k)
        for i, device in enumerate(alive):
            values = ordinary_values(device.type, CATALOGUE[device.type].metrics, rng)
            values.update(final.get(device.id, {}))
            if "temperature" in values and device.type != "freezer":
                values["temperature"] = round(float(values["temperature"]) + math.sin(k / 7) / 5, 1)
            yield from _encoder_of(device).uplink(
                Observation(at + timedelta(seconds=i), device, values), seq=10_000 + k
            )


class DemoSimulator:
    """Plays the demo stories on the broker, then keeps the healthy devices reporting."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        plan: DemoPlan | None = None,
        seed: int = 1,
        logins: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.url = f"mqtt://{host}:{port}"
        #: device id → its MQTT login (the embedded broker lets no one in without one)
        self.logins = dict(logins or {})
        self.plan = plan or demo_plan(datetime.now(UTC))
        self.seed = seed
        self.published = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _count(self, _msg: SimMessage) -> None:
        self.published += 1

    def _run(self) -> None:
        from simulators.runner import run_messages

        encoders = {d.id: _encoder_of(d) for d in DEMO_DEVICE_LIST}
        native = ENCODERS["native"]
        try:
            stream = demo_stream(self.plan, self.seed)
            run_messages(self.url, stream, native, DEMO_DEVICE_LIST, speed=1.0,
                         encoders=encoders, on_message=self._count, logins=self.logins,
                         should_stop=self._stop.is_set, sleep=self._stop.wait)  # fmt: skip
            if self._stop.is_set():
                return
            beats = heartbeats(datetime.now(UTC), 30.0, self.seed)
            run_messages(self.url, beats, native, DEMO_DEVICE_LIST, speed=1.0,
                         encoders=encoders, on_message=self._count, logins=self.logins,
                         should_stop=self._stop.is_set, sleep=self._stop.wait,
                         client_suffix="-hb")  # fmt: skip
        except Exception:
            log.exception("the demo simulator stopped")
