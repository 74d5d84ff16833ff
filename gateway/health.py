"""What ``/healthz``, ``/livez``, ``/readyz`` and the health gauges in ``/metrics`` say.

The checks and their bounds are pure (``assess``): the inputs are gathered from the running
parts by ``gather`` and ``IngestProgress``, which the clock feeds every second.

- ``mqtt``: connected and subscribed (when the gateway uses MQTT at all);
- ``ingest``: messages wait, or a batch is being retried, and no batch has been stored for
  ``ingest_stall_s`` (a stalled pipeline);
- ``store``: the reading store has failed every write for ``store_failing_s``;
- ``spool``: the oldest reading waiting for InfluxDB is older than ``spool_age_s``;
- ``clock``: the clock (schedules, no-data checks, escalation) has not ticked for ``clock_s``;
- ``outbox``: a notification has waited for delivery longer than ``outbox_age_s``.

Liveness is only "the process still does its periodic work" (the clock ticks): restarting a
process because InfluxDB or the mail server is down would not help and would lose the spool's
sender state. Readiness is "connected to the broker and able to store": what an orchestrator
should wait for before sending traffic or starting the devices' simulators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Check", "HealthBounds", "HealthInputs", "HealthReport", "IngestProgress", "assess"]


@dataclass(frozen=True, slots=True)
class HealthBounds:
    ingest_stall_s: float = 60.0
    store_failing_s: float = 60.0
    spool_age_s: float = 600.0
    clock_s: float = 10.0
    outbox_age_s: float = 900.0


@dataclass(frozen=True, slots=True)
class HealthInputs:
    mqtt_connected: bool | None  # None: no MQTT in this process
    queue_depth: int
    ingest_stalled_s: float  # how long work has waited without a stored batch (0: none)
    store_failing_s: float  # how long every store write has failed (0: not failing)
    spool_oldest_s: float | None  # None: no spool (the embedded store)
    clock_age_s: float
    outbox_oldest_s: float | None  # None: nothing waits for delivery


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    #: the measured value the bound applies to (seconds; 1/0 for mqtt), the gauge in /metrics
    value: float
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def live(self) -> bool:
        clock = self.check("clock")
        return clock is None or clock.ok

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks if c.name in ("mqtt", "store", "clock"))

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "degraded",
            "live": self.live,
            "ready": self.ready,
            "checks": {
                c.name: {"ok": c.ok, "value": round(c.value, 3), "detail": c.detail}
                for c in self.checks
            },
        }


def assess(inputs: HealthInputs, bounds: HealthBounds) -> HealthReport:
    checks: list[Check] = []
    if inputs.mqtt_connected is not None:
        checks.append(
            Check(
                "mqtt",
                inputs.mqtt_connected,
                float(inputs.mqtt_connected),
                "connected and subscribed" if inputs.mqtt_connected else "not connected",
            )
        )
    stalled = inputs.ingest_stalled_s
    checks.append(
        Check(
            "ingest",
            stalled <= bounds.ingest_stall_s,
            stalled,
            f"{inputs.queue_depth} waiting, nothing stored for {stalled:.0f} s"
            if stalled > bounds.ingest_stall_s
            else f"{inputs.queue_depth} waiting",
        )
    )
    failing = inputs.store_failing_s
    checks.append(
        Check(
            "store",
            failing <= bounds.store_failing_s,
            failing,
            f"every write failed for {failing:.0f} s" if failing else "writing",
        )
    )
    if inputs.spool_oldest_s is not None:
        age = inputs.spool_oldest_s
        checks.append(
            Check(
                "spool",
                age <= bounds.spool_age_s,
                age,
                f"oldest reading waiting for InfluxDB: {age:.0f} s",
            )
        )
    checks.append(
        Check(
            "clock",
            inputs.clock_age_s <= bounds.clock_s,
            inputs.clock_age_s,
            f"last tick {inputs.clock_age_s:.1f} s ago",
        )
    )
    outbox = inputs.outbox_oldest_s or 0.0
    checks.append(
        Check(
            "outbox",
            outbox <= bounds.outbox_age_s,
            outbox,
            f"oldest undelivered notification waits for {outbox:.0f} s"
            if inputs.outbox_oldest_s is not None
            else "nothing waits",
        )
    )
    return HealthReport(tuple(checks))


class IngestProgress:
    """Fed the pipeline's counters every clock tick; says since when work has waited without
    a stored batch and since when the store has failed every write.

    Work waits when messages are queued or the store has failed since the last stored batch
    (the batch being retried is no longer in the queue).
    """

    def __init__(self, now: datetime) -> None:
        self._batches: int | None = None
        self._errors = 0
        self._progress_at = now
        self._failing_since: datetime | None = None
        self._waiting = False

    def observe(self, now: datetime, depth: int, batches: int, store_errors: int) -> None:
        if batches != self._batches:
            self._batches = batches
            self._progress_at = now
            self._failing_since = None
        elif store_errors != self._errors and self._failing_since is None:
            self._failing_since = now
        self._errors = store_errors
        self._waiting = depth > 0 or self._failing_since is not None
        if not self._waiting:
            self._progress_at = now

    def stalled_s(self, now: datetime) -> float:
        return max(0.0, (now - self._progress_at).total_seconds()) if self._waiting else 0.0

    def failing_s(self, now: datetime) -> float:
        if self._failing_since is None:
            return 0.0
        return max(0.0, (now - self._failing_since).total_seconds())
