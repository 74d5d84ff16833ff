"""The pipeline: decode → registry → store → rules, then acknowledge, in batches.

``submit`` runs on paho's network thread and only queues; the queue is bounded, so a slow
store pushes back on the broker instead of filling memory. One worker thread takes a batch,
decodes every message and looks its device up; then ``accept`` writes the matched readings
in one transaction and has the rules (their transitions are stored too) and the listeners
see them; the readings of unknown devices go to quarantine in one transaction, refused
messages to the dead-letter store; only then is the batch acknowledged to the broker in
arrival order (MQTT 3.1.1 §4.6 wants QoS 1 acknowledgements in the order the messages
arrived). A rejected message is acknowledged too: it is kept, just not as a reading.

Claiming a device that waited in quarantine goes through the same ``accept``.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby

from alerts.engine import AlertEngine
from devices.catalogue import is_care_device
from devices.quarantine import QuarantinedReading, QuarantineEntry, QuarantineStore
from devices.reading import Reading
from devices.registry import DeviceInfo, DeviceRegistry
from gateway.inbox import Inbox
from ingest.deadletters import DeadLetterStore, Letter
from ingest.errors import DecodeError, StoreError
from ingest.formats import FormatRouter
from ingest.payload_names import candidate_refs
from ingest.plausible import implausible_time
from ingest.store import ReadingStore, StoredReading

__all__ = ["Inbound", "Matched", "Pipeline", "PipelineStats"]

log = logging.getLogger(__name__)

Ack = Callable[[int, int], None]
#: one entry per device topic; beyond this the router matches the topic every time
_MAX_CACHED_TOPICS = 200_000
#: how far a refused message's topic is searched for a care device's ref (see _refused)
_MAX_TOPIC_LEVELS, _MAX_REF_LEVELS = 16, 6
#: Called with each stored batch's (device, reading) pairs, after the store write and before
#: the acknowledgement (e-supervision listens for bed sensors here). Must be quick.
Listener = Callable[[list[tuple[DeviceInfo, Reading]]], None]
#: a decoded reading and the registered device it belongs to
Matched = tuple[DeviceInfo, Reading]


@dataclass(slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    retain: bool = False


def _letter(msg: Inbound, reason: str, *, care: bool, site_id: str | None = None) -> Letter:
    """A dead letter for a refused message, listed to the technicians of ``site_id``. A care
    device's payload is about a person (technicians read dead letters): its reason is kept,
    its bytes are not."""
    if care:
        kept = f"{reason} (care device: payload not kept)"
        return (msg.received_at, msg.topic, b"", kept, site_id)
    return (msg.received_at, msg.topic, msg.payload, reason, site_id)


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
    #: messages a bug stopped (kept as dead letters), and failures of listeners or around
    #: the rules
    bugs: int = 0
    #: messages dropped unacknowledged because this instance no longer holds the lease
    fenced: int = 0
    by_family: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Batch:
    """What one batch makes, kept apart from the counters until the batch is done.

    ``done`` counts the steps after decoding that have run (see ``Pipeline._keep``): a step
    that raised is tried again, the ones before it are not."""

    matched: list[Matched] = field(default_factory=list)
    #: when each of ``matched`` was heard (what "latest" goes by)
    heard: list[datetime] = field(default_factory=list)
    unknown: list[tuple[Inbound, QuarantineEntry]] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    new_keys: set[str] = field(default_factory=set)
    by_family: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    duplicates: int = 0
    retained_untimed: int = 0
    ignored: int = 0
    bugs: int = 0
    done: int = 0

    def count_into(self, stats: PipelineStats, received: int) -> None:
        stats.received += received
        stats.readings_stored += len(self.matched)
        stats.dead_letters += len(self.letters)
        stats.quarantined += self.quarantined
        stats.duplicates += self.duplicates
        stats.retained_untimed += self.retained_untimed
        stats.ignored += self.ignored
        stats.bugs += self.bugs
        stats.batches += 1
        for family, n in self.by_family.items():
            stats.by_family[family] = stats.by_family.get(family, 0) + n


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
        max_ahead: timedelta = timedelta(seconds=300),
        may_write: Callable[[], bool] = lambda: True,
        listeners: Sequence[Listener] = (),
    ) -> None:
        """``max_ahead``: how far a reading's own time may lie after its receive time;
        ``listeners``: called with each stored batch, after the rules."""
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
        self.max_ahead = max_ahead
        self.stats = PipelineStats()
        self._queue: Inbox[Inbound] = Inbox(queue_size)
        self._recent = _RecentKeys()
        # topic -> family: the router tries its filters in order for every message otherwise
        self._families: dict[str, str] = {}
        self._ack: Ack = lambda _mid, _qos: None
        self.listeners: list[Listener] = list(listeners)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def depth(self) -> int:
        return len(self._queue)

    def set_ack(self, ack: Ack) -> None:
        self._ack = ack

    def submit(self, topic: str, payload: bytes, mid: int, qos: int, retain: bool = False) -> None:
        """Called on the MQTT network thread: queue and return (blocks when the queue is full)."""
        self._queue.put(Inbound(topic, payload, mid, qos, self.clock(), retain))

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
            work = self._sort(batch)
            delay = 0.5
            while not self._stop.is_set():
                try:
                    self._keep(work, batch)
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
                    # One message cannot end here (``_sort`` keeps each one's failure to
                    # itself); a part every message needs can (the dead-letter store). The
                    # retry resumes at the step that failed; nothing is lost: the broker
                    # redelivers what was not acknowledged.
                    log.exception("pipeline failed on a batch of %d; retrying", len(batch))
                    self._stop.wait(delay)
                    delay = min(delay * 2, 30.0)

    def _refused(self, msg: Inbound, reason: str, refs: Iterable[str] = ()) -> Letter:
        """The dead letter of a refused message: the devices named by its topic, by ``refs``
        (the readings' own refs, where it decoded) and, for a multi-device payload (a SenML
        gateway's ``bn``), inside it. Every run of topic levels is tried as a ref, since a
        zigbee2mqtt name may itself contain "/". Any care device among them: the payload is
        not kept. The letter is listed under the site of the first device found."""
        levels = msg.topic.split("/", _MAX_TOPIC_LEVELS)[:_MAX_TOPIC_LEVELS]  # bounded work
        names = [
            "/".join(levels[i:j])
            for i in range(len(levels))
            for j in range(i + 1, min(i + _MAX_REF_LEVELS, len(levels)) + 1)
        ]
        lookup = self.registry.lookup
        found = [info for n in [*refs, *names, *candidate_refs(msg.payload)] if (info := lookup(n))]
        care = any(is_care_device(i.type, i.care_unit_id) for i in found)
        return _letter(msg, reason, care=care, site_id=found[0].site_id if found else None)

    def process(self, batch: list[Inbound]) -> None:
        """Handle one batch end to end; acknowledge only after everything is stored.

        Whatever one message does (a decoder bug, a registry surprise), it ends as a dead
        letter of its own and the rest of the batch goes on; only the store failing
        (``StoreError``) holds the whole batch back, before anything else of it was kept or
        seen by the rules. The counters move once the batch is done, so a batch retried after
        a store error is counted once."""
        self._keep(self._sort(batch), batch)

    def accept(
        self, matched: Sequence[Matched], heard: Sequence[datetime | None] | None = None
    ) -> None:
        """Take in readings already decoded and matched to their registered devices: store
        them in one write, then have the rules and the listeners see them. ``heard``: when
        each was received, where known.

        Raises ``StoreError`` only, and only before anything else ran: the caller may call
        again. The rules and the listeners run once (the store is idempotent, the rules' hold
        timers are not): a failure there is counted and logged, not raised, since the
        readings are stored by then."""
        when: Sequence[datetime | None] = [None] * len(matched) if heard is None else heard
        self.store.write(
            [
                StoredReading(d.id, r.time, r.metric, r.value, r.unit, h)
                for (d, r), h in zip(matched, when, strict=True)
            ]
        )
        try:
            self.engine.on_readings(matched)
        except Exception:
            # the rules keep a strange reading's failure to themselves; this is a bug around
            # them (a lock, a lookup) and running them again could fire a hold twice
            self.stats.bugs += 1
            log.exception("the rules failed on a batch of %d stored readings", len(matched))
        batch = matched if isinstance(matched, list) else list(matched)
        for listener in self.listeners:
            try:
                listener(batch)
            except Exception:
                # the batch is stored: a listener's bug must not have it written again
                self.stats.bugs += 1
                log.exception("a reading listener failed on a batch of %d", len(batch))

    def _sort(self, batch: list[Inbound]) -> _Batch:
        """Decode each message and match its device, each message alone: a bug in one makes
        a dead letter of it, never an exception out of here."""
        work = _Batch()
        for msg in batch:
            try:
                self._handle(msg, work)
            except Exception as exc:
                # A bug, not bad input: kept as a dead letter so the message is not lost and
                # the batch is not stuck behind it; logged with its trace, without the payload.
                work.bugs += 1
                log.exception(
                    "bug while handling a message on %s (%d bytes); kept as a dead letter",
                    msg.topic[:80],
                    len(msg.payload),
                )
                reason = f"internal error while handling the message ({type(exc).__name__})"
                work.letters.append(self._refused_safe(msg, reason))
        return work

    def _keep(self, work: _Batch, batch: list[Inbound]) -> None:
        """The steps after decoding, in order, then the acknowledgement. Called again after a
        failure, it resumes at the step that failed: a store retry never runs the rules or
        the quarantine write a second time."""
        if not self._may_write():
            # a standby, or the lease lost while this batch was decoded or retried: nothing
            # more of it is kept or acknowledged (the broker redelivers it to the active one)
            self.stats.fenced += len(batch)
            return
        if work.done < 1:
            self.accept(work.matched, work.heard)
            for key in work.new_keys:
                self._recent.add(key)
            work.done = 1
        if work.done < 2:
            self._quarantine(work)
            work.done = 2
        if work.done < 3:
            if work.letters:
                for _at, topic, _payload, reason, _site in work.letters:
                    log.warning("dead letter on %s: %s", topic[:80], reason)
                self.dead_letters.add_many(work.letters)
            work.done = 3
        work.count_into(self.stats, len(batch))
        for msg in batch:
            self._ack(msg.mid, msg.qos)

    def _quarantine(self, work: _Batch) -> None:
        """The batch's readings of unknown devices, in one transaction. Should that fail,
        each message is tried alone, so that one the quarantine cannot take becomes a dead
        letter of its own (as a decoder bug does) and the rest are kept."""
        if not work.unknown:
            return
        try:
            self.quarantine.record_many([entry for _msg, entry in work.unknown])
            return
        except Exception:
            log.exception(
                "quarantine failed on a batch; trying its %d messages alone", len(work.unknown)
            )
        for _, group in groupby(work.unknown, key=lambda u: id(u[0])):
            entries = list(group)
            try:
                self.quarantine.record_many([entry for _msg, entry in entries])
            except Exception as exc:
                msg = entries[0][0]
                work.bugs += 1
                log.exception("quarantine failed for a message on %s", msg.topic[:80])
                reason = f"internal error while handling the message ({type(exc).__name__})"
                work.letters.append(self._refused_safe(msg, reason))

    def _refused_safe(self, msg: Inbound, reason: str) -> Letter:
        """``_refused`` for a message a bug stopped: if even that fails, assume care (the
        payload is then not kept, only the reason) and list it to every-site users only."""
        try:
            return self._refused(msg, reason)
        except Exception:
            log.exception("care lookup failed for %s", msg.topic[:80])
            return _letter(msg, reason, care=True)

    def _handle(self, msg: Inbound, work: _Batch) -> None:
        family = self._families.get(msg.topic)
        if family is None:
            family = self.router.family_for(msg.topic)
            if family is not None and len(self._families) < _MAX_CACHED_TOPICS:
                self._families[msg.topic] = family
        try:
            decoded = self.router.decode(msg.topic, msg.payload, msg.received_at, family)
        except DecodeError as exc:
            work.letters.append(self._refused(msg, str(exc)))
            return
        found = decoded.readings
        refused = implausible_time(found, msg.received_at, self.max_ahead)
        if refused is not None:
            refs = dict.fromkeys(r.device_ref for r in found)
            work.letters.append(self._refused(msg, refused, refs))
            return
        family = decoded.family
        work.by_family[family] = work.by_family.get(family, 0) + 1
        key = decoded.dedup_key
        if key is not None:
            # Remembered only once the batch is stored (below): a batch retried after a
            # store error must not find its own uplinks "already seen" and drop them.
            if key in work.new_keys or self._recent.seen(key):
                work.duplicates += 1
                return
            work.new_keys.add(key)
        if msg.retain and found:
            # The broker's retained copy is replayed on every subscribe (each restart or
            # reconnect). A reading stamped with our receive time (the payload named no
            # time) would claim the device spoke now: a dead sensor would look alive.
            timed = tuple(r for r in found if r.time != msg.received_at)
            work.retained_untimed += len(found) - len(timed)
            found = timed
        if not found:
            work.ignored += 1
            return
        devices = {ref: self.registry.lookup(ref) for ref in {r.device_ref for r in found}}
        # a multi-device payload (a SenML gateway, ``bn`` per device) holding a care
        # device's readings is about a person as a whole: kept nowhere but the care store
        care = any(
            d is not None and is_care_device(d.type, d.care_unit_id) for d in devices.values()
        )
        for ref, device in devices.items():
            readings = [r for r in found if r.device_ref == ref]
            if device is None:
                work.quarantined += 1
                kept = [
                    QuarantinedReading(ref, r.time, r.metric, r.value, r.unit) for r in readings
                ]
                payload = b"" if care else msg.payload
                entry = QuarantineEntry(ref, family, msg.topic, payload, kept, msg.received_at)
                work.unknown.append((msg, entry))
                continue
            if device.state == "retired":
                reason = f"device {device.id!r} is retired; its messages are refused"
                work.letters.append(_letter(msg, reason, care=care, site_id=device.site_id))
                continue
            for r in readings:
                # A retained copy replayed at a (re)subscribe was received long before; it
                # ranks at its own time, so it cannot displace what came after it.
                heard = min(r.time, msg.received_at) if msg.retain else msg.received_at
                work.heard.append(heard)
                work.matched.append((device, r))

    def prune(self, dead_letter_age: timedelta, quarantine_age: timedelta) -> None:
        now = self.clock()
        self.dead_letters.prune(dead_letter_age, now)
        self.quarantine.prune(quarantine_age, now)
