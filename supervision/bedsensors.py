"""What the monitored bed sensors last said: in bed or not, and when each was last heard.

Kept in memory only, and only for a sensor bound to a resident whose sensor consent holds
(``watch``): a withdrawal forgets what the sensor said at once, and what it says afterwards is
not taken. Its own lock orders the pipeline thread (``on_readings``) against ``watch`` and the
clock's reads (``finding``); it is never held while waiting for another lock, so the pipeline
never waits for SQL. The check lock (``supervision.nightchecks``) is taken before it, never
after.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from supervision.machine import sensor_finding

__all__ = ["BedSensors", "DeviceInfo", "MonitoredSensors"]

#: a device the registry does not know is taken to report every five minutes
DEFAULT_INTERVAL_S = 300


class DeviceInfo(Protocol):
    @property
    def state(self) -> str: ...

    @property
    def expected_interval_s(self) -> int: ...


class _Registry(Protocol):
    def info(self, device_id: str) -> Any: ...


class MonitoredSensors:
    """The bed sensors monitored now (device id → resident id), and the care store's filter
    over them. Built by the composition root before both its readers: the care store asks
    ``may_store`` on the pipeline thread, ``BedSensors.watch`` replaces the map whole."""

    #: what a bed sensor says about the person in the bed; its battery and signal are the
    #: device's own health and are kept whoever lies there
    PERSONAL_METRICS = frozenset({"in_bed"})

    def __init__(self) -> None:
        self.current: dict[str, str] = {}

    def may_store(self, device_id: str, metric: str) -> bool:
        """Whether a care reading may be stored: a bed sensor's ``in_bed`` only while the
        sensor is monitored (no basis for keeping a sleep pattern otherwise; consent
        withdrawn stops it at once). Called on the pipeline thread for every care reading:
        a dict lookup, no SQL, no lock (the dict is replaced whole, never changed)."""
        return metric not in self.PERSONAL_METRICS or device_id in self.current


class BedSensors:
    PERSONAL_METRICS = MonitoredSensors.PERSONAL_METRICS

    def __init__(
        self,
        registry: _Registry,
        *,
        offline_factor: float,
        clock: Callable[[], datetime],
        latest: Callable[[str], Sequence[Any]] | None = None,
        monitored: MonitoredSensors | None = None,
    ) -> None:
        self._registry = registry
        self._offline_factor = offline_factor
        self._clock = clock
        self._latest = latest
        self._lock = threading.Lock()
        self._last_seen: dict[str, datetime] = {}
        self._in_bed: dict[str, tuple[bool, datetime]] = {}
        self._watched = monitored if monitored is not None else MonitoredSensors()

    def watch(self, monitored: Mapping[str, str]) -> None:
        """Monitor exactly these sensors (device id → resident id) from now on: a new one
        starts from what the store last heard from it, one no longer listed is forgotten."""
        seeds = {d: self._seed(d) for d in set(monitored) - set(self._monitored)}
        with self._lock:
            for device_id in set(self._monitored) - set(monitored):
                self._last_seen.pop(device_id, None)
                self._in_bed.pop(device_id, None)
            self._watched.current = dict(monitored)
            for device_id, (seen, in_bed) in seeds.items():
                if device_id in self._monitored:
                    self._remember(device_id, seen, in_bed)

    def _seed(self, device_id: str) -> tuple[datetime | None, tuple[bool, datetime] | None]:
        seen: datetime | None = None
        in_bed: tuple[bool, datetime] | None = None
        for value in self._latest(device_id) if self._latest is not None else ():
            heard = value.received_at or value.time
            if seen is None or heard > seen:
                seen = heard
            if value.metric == "in_bed":
                in_bed = (bool(value.value), heard)
        return seen, in_bed

    def _remember(
        self, device_id: str, heard: datetime | None, in_bed: tuple[bool, datetime] | None
    ) -> None:
        seen = self._last_seen.get(device_id)
        if heard is not None and (seen is None or heard > seen):
            self._last_seen[device_id] = heard
        if in_bed is not None:
            self._in_bed[device_id] = in_bed

    def may_store(self, device_id: str, metric: str) -> bool:
        """The care store's filter (``MonitoredSensors.may_store``)."""
        return self._watched.may_store(device_id, metric)

    @property
    def _monitored(self) -> dict[str, str]:
        return self._watched.current

    def on_readings(self, batch: Iterable[tuple[Any, Any]]) -> None:
        """Pipeline listener: remember what monitored bed sensors say (no SQL here).

        The batch comes in the order its messages were received, and that order decides what
        the sensor says now: a device's own time can be wrong or forged. When it was last
        heard is its own time, but never later than now (a clock running ahead must not
        keep a silent sensor looking alive)."""
        now = self._clock()
        with self._lock:
            # read under the lock: a sensor ``watch`` just dropped is not taken again
            monitored = self._monitored
            for device, reading in batch:
                if device.id not in monitored:
                    continue
                heard = min(reading.time, now)
                in_bed = (bool(reading.value), heard) if reading.metric == "in_bed" else None
                self._remember(device.id, heard, in_bed)

    def devices_of(self, resident_id: str) -> list[str]:
        return [d for d, r in self._monitored.items() if r == resident_id]

    def in_bed_known(self, device_id: str) -> bool:
        """Whether what the sensor last said about the bed is held in memory."""
        with self._lock:
            return device_id in self._in_bed

    def finding(self, device_id: str, now: datetime) -> tuple[Any, str]:
        """What the sensor says about a check due now (``supervision.machine``)."""
        info = self._registry.info(device_id)
        active = info is not None and info.state == "active"
        interval = info.expected_interval_s if info is not None else DEFAULT_INTERVAL_S
        offline_after = timedelta(seconds=interval * self._offline_factor)
        with self._lock:
            in_bed, seen = self._in_bed.get(device_id), self._last_seen.get(device_id)
        return sensor_finding(in_bed, seen, now, offline_after, active)
