"""Fleet mode: N devices (10,000 and more) reporting at a given total rate, for load and soak.

``fleet_messages`` is pure: the same devices, seed and rate give the same messages, with
simulated times spaced ``1/rate`` apart, so a test checks the rate without a clock. ``run_fleet``
puts them on the wire through a few connections (shards), paced by ``Pacer`` and bounded by
each ``Publisher``'s pending limit: memory stays flat however slow the broker is.

Availability: every device announces itself online first (where its family does), and with
``churn`` a share of the devices drops off during the run and comes back a while later. A
fleet does not hold 10,000 sockets, so for families whose devices have their own connection
(native, Tasmota, SenML) the fleet publishes the will the broker would have published.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.catalogue import CATALOGUE
from simulators.behaviour import ordinary_values
from simulators.encoders.base import Encoder
from simulators.model import Observation, SimDevice, SimMessage
from simulators.mqtt_out import Pacer, Publisher

__all__ = ["FleetResult", "fleet_devices", "fleet_messages", "run_fleet"]

log = logging.getLogger(__name__)

#: types a fleet is made of by default: the building sensors a municipality has most of
DEFAULT_TYPES = ("room_climate", "technical_shed_temperature", "freezer", "water_leak", "motion")


def fleet_devices(
    n: int, types: Sequence[str] = DEFAULT_TYPES, prefix: str = "fleet"
) -> list[SimDevice]:
    unknown = [t for t in types if t not in CATALOGUE]
    if unknown:
        raise ValueError(f"unknown device types: {', '.join(unknown)}")
    width = max(5, len(str(n - 1)))
    return [
        SimDevice(f"{prefix}-{i:0{width}d}", types[i % len(types)], site_id=f"{prefix}-site")
        for i in range(n)
    ]


def fleet_messages(
    devices: Sequence[SimDevice],
    encoder: Encoder,
    *,
    rate: float,
    start: datetime,
    seed: int = 1,
    metrics: Callable[[SimDevice], tuple[str, ...]] | None = None,
    churn: float = 0.0,
    announce: bool = True,
) -> Iterator[SimMessage]:
    """Round-robin reports, one every ``1/rate`` simulated seconds, forever.

    ``churn`` is the chance per report that some device drops off instead; it comes back
    (online, then reporting) when its turn comes again.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    rng = random.Random(seed)
    step = timedelta(seconds=1 / rate)
    at = start
    if announce:
        for device in devices:
            msg = encoder.online(device, at)
            if msg is not None:
                yield msg
    offline: set[str] = set()
    for i in itertools.count():
        device = devices[i % len(devices)]
        at = start + step * i
        if churn and rng.random() < churn:
            gone = devices[rng.randrange(len(devices))]
            if gone.id not in offline:
                offline.add(gone.id)
                msg = encoder.offline(gone, at)
                if msg is not None:
                    yield msg
                continue
        if device.id in offline:
            offline.discard(device.id)
            msg = encoder.online(device, at)
            if msg is not None:
                yield msg
        names = metrics(device) if metrics else CATALOGUE[device.type].metrics
        values = ordinary_values(device.type, names, rng)
        yield from encoder.uplink(Observation(at, device, values), seq=i // len(devices))


@dataclass(frozen=True, slots=True)
class FleetResult:
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def run_fleet(
    url: str,
    messages: Iterator[SimMessage],
    *,
    count: int | None = None,
    duration: float | None = None,
    rate: float | None = None,
    connections: int = 2,
    client_prefix: str = "kv-fleet",
    max_pending: int = 500,
    should_stop: Callable[[], bool] = lambda: False,
) -> FleetResult:
    """Publish ``messages`` (at most ``count``, for at most ``duration`` s) at ``rate``/s.

    Messages of one device always go through the same connection, so per-device order holds.
    """
    shards = [
        Publisher(url, f"{client_prefix}-{k}", max_pending=max_pending).start()
        for k in range(max(1, connections))
    ]
    pacer = Pacer(rate)
    sent = 0
    started = time.monotonic()
    try:
        while True:
            # Checked before taking a message, so none is drawn and then not sent.
            if count is not None and sent >= count:
                break
            if duration is not None and time.monotonic() - started >= duration:
                break
            if should_stop():
                break
            msg = next(messages, None)
            if msg is None:
                break
            pacer.wait()
            shards[zlib.crc32(msg.device_id.encode()) % len(shards)].publish(msg)
            sent += 1
        for shard in shards:
            if not shard.flush():
                log.warning("fleet shard %s: not every message was acknowledged", shard.client_id)
    finally:
        for shard in shards:
            shard.stop()
    return FleetResult(sent, time.monotonic() - started)
