"""The pipeline: decode → registry → store → rules, then acknowledge, in batches.

``submit`` runs on paho's network thread and only queues; the queue is bounded, so a slow
store pushes back on the broker instead of filling memory. One worker thread takes a batch,
decodes every message, looks its device up, writes the batch in one transaction, runs the
rules on it (their transitions are stored too) and only then acknowledges the batch to the
broker in arrival order (MQTT 3.1.1 §4.6 wants QoS 1 acknowledgements in the order the
messages arrived). A rejected message gets
a reason in the dead-letter store and is acknowledged too: it is kept, just not as a reading.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.engine import AlertEngine
from devices.catalogue import is_care
from devices.quarantine import QuarantinedReading, QuarantineStore
from devices.registry import DeviceInfo, DeviceRegistry
from gateway.inbox import Inbox
from ingest.deadletters import DeadLetterStore
from ingest.errors import DecodeError, StoreError
from ingest.formats import FormatRouter
from ingest.reading import Reading
from ingest.store import ReadingStore, StoredReading

__all__ = ["Inbound", "Pipeline", "PipelineStats"]

log = logging.getLogger(__name__)

Ack = Callable[[int, int], None]
#: one entry per device topic; beyond this the router matches the topic every time
_MAX_CACHED_TOPICS = 200_000
#: how far a refused message's topic is searched for a care device's ref (see _care_topic)
_MAX_TOPIC_LEVELS, _MAX_REF_LEVELS = 16, 6
#: Called with each stored batch's (device, reading) pairs, after the store write and before
#: the acknowledgement (e-supervision listens for bed sensors here). Must be quick.
Listener = Callable[[list[tuple[DeviceInfo, Reading]]], None]


@dataclass(slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    retain: bool = False


def _letter(msg: Inbound, reason: str, *, care: bool) -> tuple[datetime, str, bytes, str]:
    """A dead letter for a refused message. A care device's payload is about a person
    (technicians read dead letters): its reason is kept, its bytes are not."""
    if care:
        return (msg.received_at, msg.topic, b"", f"{reason} (care device: payload not kept)")
    return (msg.received_at, msg.topic, msg.payload, reason)


@dataclass(slots=True)
class PipelineStats:
    received: int = 0
    readings_stored: int = 0
    dead_letters: int = 0
    quarantined: int = 0
    duplicates: int = 0
    batches: int = 0
    store_errors: int = 0
    #: readings of retained messages that carry no time of their own (see ``process``)
    retained_untimed: int = 0
    ignored: int = 0
    #: messages dropped unacknowledged because this instance no longer holds the lease
    fenced: int = 0
    by_family: dict[str, int] = field(default_factory=dict)


class _RecentKeys:
    """A bounded set of recently seen dedup keys (LoRaWAN device + frame counter)."""

    def __init__(self, size: int = 100_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def seen(self, key: str) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        return False

    def add(self, key: str) -> None:
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)


class Pipeline:
    def __init__(
        self,
        router: FormatRouter,
        registry: DeviceRegistry,
        store: ReadingStore,
        engine: AlertEngine,
        quarantine: QuarantineStore,
        dead_letters: DeadLetterStore,
        *,
        queue_size: int = 20_000,
        batch_size: int = 1000,
        batch_wait: float = 0.02,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        may_write: Callable[[], bool] = lambda: True,
    ) -> None:
        self.router = router
        #: False once this instance has lost the gateway lease: a batch is then dropped
        #: unacknowledged, and the broker gives it to the instance that took over
        self._may_write = may_write
        self.registry = registry
        self.store = store
        self.engine = engine
        self.quarantine = quarantine
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.clock = clock
        self.stats = PipelineStats()
        self._queue: Inbox[Inbound] = Inbox(queue_size)
        self._recent = _RecentKeys()
        # topic -> family: the router tries its filters in order for every message otherwise
        self._families: dict[str, str] = {}
        self._ack: Ack = lambda _mid, _qos: None
        self.listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def depth(self) -> int:
        return len(self._queue)

    def set_ack(self, ack: Ack) -> None:
        self._ack = ack

    def submit(self, topic: str, payload: bytes, mid: int, qos: int, retain: bool = False) -> None:
        """Called on the MQTT network thread: queue and return (blocks when the queue is full)."""
        self._queue.put(Inbound(topic, payload, mid, qos, datetime.now(UTC), retain))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pipeline", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _take_batch(self) -> list[Inbound]:
        return self._queue.take_batch(self.batch_size, 0.2, self.batch_wait)

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            if not batch:
                continue
            delay = 0.5
            while not self._stop.is_set():
                try:
                    self.process(batch)
                    break
                except StoreError as exc:
                    # Nothing of this batch is acknowledged: the broker keeps it for us.
                    self.stats.store_errors += 1
                    log.error(
                        "store failed (%s); retrying the batch of %d in %.1f s",
                        exc,
                        len(batch),
                        delay,
                    )
                    self._stop.wait(delay)
                    delay = min(delay * 2, 30.0)
                except Exception:
                    # A bug must not lose a batch nor stop the gateway; the broker will
                    # redeliver what was not acknowledged.
                    log.exception("pipeline failed on a batch of %d; retrying", len(batch))
                    self._stop.wait(delay)
                    delay = min(delay * 2, 30.0)

    def _care_topic(self, topic: str) -> bool:
        """Does the topic name a registered care device? Asked only of refused messages (the
        payload could not be decoded, so no reading names the device): every run of topic
        levels is tried as a ref, since a zigbee2mqtt name may itself contain "/"."""
        levels = topic.split("/", _MAX_TOPIC_LEVELS)[:_MAX_TOPIC_LEVELS]  # bounded work
        for i in range(len(levels)):
            for j in range(i + 1, min(i + _MAX_REF_LEVELS, len(levels)) + 1):
                info = self.registry.lookup("/".join(levels[i:j]))
                if info is not None and is_care(info.type):
                    return True
        return False

    def process(self, batch: list[Inbound]) -> None:
        """Handle one batch end to end; acknowledge only after everything is stored."""
        if not self._may_write():
            self.stats.fenced += len(batch)
            return
        stored: list[StoredReading] = []
        matched: list[tuple[DeviceInfo, Reading]] = []
        letters: list[tuple[datetime, str, bytes, str]] = []
        new_keys: set[str] = set()
        stats = self.stats
        families = self._families
        for msg in batch:
            stats.received += 1
            family = families.get(msg.topic)
            if family is None:
                family = self.router.family_for(msg.topic)
                if family is not None and len(families) < _MAX_CACHED_TOPICS:
                    families[msg.topic] = family
            try:
                decoded = self.router.decode(msg.topic, msg.payload, msg.received_at, family)
            except DecodeError as exc:
                letters.append(_letter(msg, str(exc), care=self._care_topic(msg.topic)))
                continue
            family = decoded.family
            stats.by_family[family] = stats.by_family.get(family, 0) + 1
            key = decoded.dedup_key
            if key is not None:
                # Remembered only once the batch is stored (below): a batch retried after a
                # store error must not find its own uplinks "already seen" and drop them.
                if key in new_keys or self._recent.seen(key):
                    stats.duplicates += 1
                    continue
                new_keys.add(key)
            found = decoded.readings
            if msg.retain and found:
                # The broker's retained copy is replayed on every subscribe (each restart or
                # reconnect). A reading stamped with our receive time (the payload named no
                # time) would claim the device spoke now: a dead sensor would look alive.
                timed = tuple(r for r in found if r.time != msg.received_at)
                stats.retained_untimed += len(found) - len(timed)
                found = timed
            if not found:
                stats.ignored += 1
                continue
            for ref in {r.device_ref for r in found}:
                readings = [r for r in found if r.device_ref == ref]
                device = self.registry.lookup(ref)
                if device is None:
                    stats.quarantined += 1
                    self.quarantine.record(
                        ref,
                        family,
                        msg.topic,
                        msg.payload,
                        [
                            QuarantinedReading(ref, r.time, r.metric, r.value, r.unit)
                            for r in readings
                        ],
                        msg.received_at,
                    )
                    continue
                if device.state == "retired":
                    reason = f"device {device.id!r} is retired; its messages are refused"
                    letters.append(_letter(msg, reason, care=is_care(device.type)))
                    continue
                for r in readings:
                    stored.append(StoredReading(device.id, r.time, r.metric, r.value, r.unit))
                    matched.append((device, r))
        if not self._may_write():  # decoding took a while: ask again before the first write
            self.stats.fenced += len(batch)
            return
        self.store.write(stored)
        # Rules run once the batch is stored: a batch retried after a store error must not
        # run them twice (the store is idempotent, the rules' hold timers are not).
        self.engine.on_readings(matched)
        for key in new_keys:
            self._recent.add(key)
        for listener in self.listeners:
            listener(matched)
        if letters:
            for _at, topic, _payload, reason in letters:
                log.warning("dead letter on %s: %s", topic[:80], reason)
            self.dead_letters.add_many(letters)
            stats.dead_letters += len(letters)
        stats.readings_stored += len(stored)
        stats.batches += 1
        for msg in batch:
            self._ack(msg.mid, msg.qos)

    def prune(self, dead_letter_age: timedelta, quarantine_age: timedelta) -> None:
        now = self.clock()
        self.dead_letters.prune(dead_letter_age, now)
        self.quarantine.prune(quarantine_age, now)
