"""The alert engine: runs each device's rules on its readings and on the clock.

Rule evaluation is pure (``alerts.rules``, ``alerts.kinds``); this module keeps the
per-(device, rule) state, persists transitions through ``AlertStore`` and lets the
``Announcer`` tell people. State survives a restart: open alerts are read back and their rules
resume as firing; the follow-up (reminders, escalation) continues from what the store remembers.

The hot path is cheap on purpose (it runs inside the pipeline before the store write): a
device's rules are compiled once and indexed by metric, a "no data" rule only notes the time
of each reading, and the clock tick only visits rules that have something pending (a hold
running, a door open, a deadline passed) instead of every device every second.

``raise_external`` / ``resolve_external`` let other parts (e-supervision) raise alerts that no
rule produces, with the same lifecycle, routing, follow-up and acknowledgement.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from alerts.announce import Announcer
from alerts.errors import RuleConfigError
from alerts.followup import FollowUpPolicy
from alerts.kinds import Change, Env, HeldState, NoDataRule
from alerts.links import AckLinks
from alerts.messages import beyond_since, detail_for
from alerts.notify import Notifier
from alerts.rulebook import Compiled, OverrideSource, RuleBook
from alerts.rules import RuleState, ThresholdRule, Transition, evaluate, restored, tick
from alerts.rulestate import RuleStateStore, condition_of, resumed
from alerts.silences import SilenceStore
from alerts.specs import RuleEntry
from alerts.store import Alert, AlertStore
from devices.registry import DeviceInfo, DeviceRegistry
from ingest.reading import Reading

__all__ = ["AlertEngine"]

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (device id, rule name)
SEVERITIES = ("info", "warning", "critical")


class AlertEngine:
    def __init__(
        self,
        store: AlertStore,
        notifier: Notifier,
        registry: DeviceRegistry,
        *,
        rule_overrides: Mapping[str, Mapping[str, Any]] | None = None,
        base_url: str = "http://127.0.0.1:8000",
        policy: FollowUpPolicy | None = None,
        silences: SilenceStore | None = None,
        links: AckLinks | None = None,
        api_overrides: OverrideSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rule_states: RuleStateStore | None = None,
    ) -> None:
        self.store = store
        self.rule_states = rule_states
        self._persisted: dict[Key, Any] = {}
        self.notifier = notifier
        self.registry = registry
        self.announce = Announcer(
            store, notifier, registry, policy or FollowUpPolicy(), silences, links, base_url,
            clock,
        )  # fmt: skip
        self.rules = RuleBook(registry, rule_overrides, api_overrides)
        self._clock = clock
        self._state: dict[Key, Any] = {}
        self._pending: set[Key] = set()  # rules the clock must look at
        self._seen: dict[Key, float] = {}  # no_data: last reading (epoch s)
        self._deadline: dict[Key, float] = {}  # no_data: silent from this instant on
        self._value_written: dict[Key, float] = {}
        self._last_scan = 0.0
        self._lock = threading.RLock()
        self.watching_since: datetime | None = None
        #: readings a bug stopped in ``on_readings`` (each alone; the others went on)
        self.errors = 0

    # -- configuration -------------------------------------------------------------------

    def rules_for(self, device: DeviceInfo | str, *, strict: bool = False) -> list[RuleEntry]:
        """A device's effective rules; given a type name, the type's rules (for charts)."""
        return self.rules.rules_for(device, strict=strict)

    def check_rules(self) -> None:
        """Compile every device's and every type's rules; raises ``RuleConfigError``."""
        with self._lock:
            self.rules.check()

    def reload_rules(self) -> None:
        """Forget the compiled rules (after an override or a device changed)."""
        with self._lock:
            self.rules.clear()
            self._deadline.clear()
            self._last_scan = 0.0

    def _compile(self, device: DeviceInfo) -> Compiled:
        return self.rules.compiled(device)

    def _env(self, device: DeviceInfo) -> Env:
        return self.rules.env(device, self.watching_since)

    # -- rule evaluation -------------------------------------------------------------------

    def restore(self, now: datetime | None = None) -> int:
        """Resume the rules of alerts that were open when the platform stopped."""
        self.watching_since = now or self._clock()
        count = 0
        with self._lock:
            for alert in self.store.open_alerts():
                info = self.registry.info(alert.device_id)
                entry = self._compile(info).by_name.get(alert.rule) if info else None
                if alert.origin != "rule" or entry is None:
                    continue
                if isinstance(entry.rule, ThresholdRule):
                    state: Any = restored(entry.rule, alert.severity, alert.started_at)
                else:
                    state = HeldState(alert.severity, None, alert.started_at)
                self._remember((alert.device_id, entry.name), state)
                count += 1
            count += self._resume_conditions()
        return count

    def _resume_conditions(self) -> int:
        """Conditions that were building up (a door open, a shed above 25 °C) carry on."""
        if self.rule_states is None:
            return 0
        count = 0
        for key, (since, value) in self.rule_states.load().items():
            found = self._lookup(key)
            state = resumed(found[1].rule, since, value) if found is not None else None
            if key in self._state or state is None:
                continue
            self._persisted[key] = condition_of(state)
            self._remember(key, state)
            count += 1
        return count

    def _persist(self, key: Key, state: Any) -> None:
        condition = condition_of(state)
        if self.rule_states is None or condition == self._persisted.get(key):
            return  # written only when a condition starts or ends, never per reading
        if condition is None:
            self._persisted.pop(key, None)
            self.rule_states.clear(key)
        else:
            self._persisted[key] = condition
            value = state.last_value if isinstance(state, RuleState) else state.value
            self.rule_states.save(key, dict(condition), value, self._clock())

    def _remember(self, key: Key, state: Any) -> None:
        self._state[key] = state
        self._persist(key, state)
        if isinstance(state, RuleState):
            pending = bool(state.beyond_since)
        else:
            pending = state.since is not None or state.firing is not None
        if pending:
            self._pending.add(key)
        else:
            self._pending.discard(key)

    def on_readings(self, readings: Iterable[tuple[DeviceInfo, Reading]]) -> None:
        with self._lock:
            for device, reading in readings:
                if device.state != "active":
                    continue
                try:
                    compiled = self._compile(device)
                    for entry in compiled.by_metric.get(reading.metric, ()):
                        self._evaluate(device, entry, reading)
                    for entry in compiled.no_data:
                        self._heard(device, entry, reading)
                except Exception:
                    # one strange reading must not keep the rules from the rest of the batch
                    # (nor have the stored batch retried); its value is not logged
                    self.errors += 1
                    log.exception(
                        "rules failed on %s of device %s; the other readings go on",
                        reading.metric[:40],
                        device.id,
                    )

    def _evaluate(self, device: DeviceInfo, entry: RuleEntry, reading: Reading) -> None:
        rule, key = entry.rule, (device.id, entry.name)
        change: Transition | Change | None
        value = reading.value
        if isinstance(rule, ThresholdRule):
            if isinstance(value, str | bool):
                return
            state = self._state.get(key, RuleState())
            state, change = evaluate(rule, state, float(value), reading.time)
            if change is None and state.firing is not None:
                self._refresh_value(key, float(value), reading.time)
        elif isinstance(rule, NoDataRule):
            return  # handled by _heard
        else:
            state = self._state.get(key, HeldState())
            state, change = rule.evaluate(state, value, reading.time, self._env(device))
        self._remember(key, state)
        if change is not None:
            self._apply(device, entry, change)

    def _heard(self, device: DeviceInfo, entry: RuleEntry, reading: Reading) -> None:
        rule, key = entry.rule, (device.id, entry.name)
        assert isinstance(rule, NoDataRule)
        if not rule.counts(reading.metric):
            return
        state = self._state.get(key)
        # heard at its own time, but never later than now: a device whose clock runs ahead
        # must not push its silence deadline into the future
        at = min(reading.time, self._clock())
        ts = at.timestamp()
        limit = rule.factor * (rule.interval_s or device.expected_interval_s)
        if (state is None or state.firing is None) and reading.metric != rule.availability_metric:
            if ts > self._seen.get(key, 0.0):  # the common case: just note the time
                self._seen[key] = ts
                self._deadline[key] = ts + limit
            return
        last = self._seen.get(key)
        held = HeldState(
            state.firing if state else None,
            None,
            None,
            datetime.fromtimestamp(last, UTC) if last else None,
        )
        new, change = rule.evaluate(held, reading.metric, reading.value, at, Env())
        self._state[key] = new
        if new.last_seen is not None:
            self._seen[key] = new.last_seen.timestamp()
        if new.firing is None:
            self._deadline[key] = self._seen.get(key, ts) + limit
        else:
            self._deadline.pop(key, None)
        if change is not None:
            self._apply(device, entry, change)

    def _refresh_value(self, key: Key, value: float, at: datetime) -> None:
        # keep the stored value of a firing alert current for reminders and the page, but
        # write at most every 30 s per alert: a chatty sensor must not turn into SQL load
        last = self._value_written.get(key)
        if last is not None and time.monotonic() - last < 30:
            return
        self._value_written[key] = time.monotonic()
        self.store.update_value(key[0], key[1], value, at)

    def tick(self, now: datetime) -> None:
        """Every second: holds, closing times, silent devices; then the follow-up."""
        with self._lock:
            if time.monotonic() - self._last_scan > 60:
                self._scan_devices(now)
            for key in list(self._pending):
                self._tick_rule(key, now)
            now_ts = now.timestamp()
            for key, deadline in list(self._deadline.items()):
                if deadline <= now_ts:
                    self._tick_silent(key, now, deadline)
            self.announce.follow_up(now)
        self.announce.prune(now)

    def _scan_devices(self, now: datetime) -> None:
        """Give devices nobody has heard from yet a deadline (new ones, and after a start)."""
        self._last_scan = time.monotonic()
        since = (self.watching_since or now).timestamp()
        for device in self.registry.all_info():
            if device.state != "active":
                continue
            for entry in self._compile(device).no_data:
                key = (device.id, entry.name)
                state = self._state.get(key)
                if key in self._deadline or (state is not None and state.firing is not None):
                    continue
                rule = entry.rule
                assert isinstance(rule, NoDataRule)
                limit = rule.factor * (rule.interval_s or device.expected_interval_s)
                start = max(self._seen.get(key, since), since)
                self._deadline[key] = start + limit

    def _lookup(self, key: Key) -> tuple[DeviceInfo, RuleEntry] | None:
        device = self.registry.info(key[0])
        if device is None or device.state != "active":
            return None
        entry = self._compile(device).by_name.get(key[1])
        return (device, entry) if entry is not None else None

    def _tick_rule(self, key: Key, now: datetime) -> None:
        found = self._lookup(key)
        if found is None:
            self._pending.discard(key)
            return
        device, entry = found
        rule, state = entry.rule, self._state.get(key)
        change: Transition | Change | None
        if isinstance(rule, ThresholdRule):
            state, change = tick(rule, state or RuleState(), now)
        elif isinstance(rule, NoDataRule):
            self._pending.discard(key)
            return
        else:
            state, change = rule.tick(state or HeldState(), now, self._env(device))
        self._remember(key, state)
        if change is not None:
            self._apply(device, entry, change)

    def _tick_silent(self, key: Key, now: datetime, deadline: float) -> None:
        found = self._lookup(key)
        self._deadline.pop(key, None)
        if found is None:
            return
        device, entry = found
        rule = entry.rule
        assert isinstance(rule, NoDataRule)
        limit = rule.factor * (rule.interval_s or device.expected_interval_s)
        # silent since the last reading, or since we started watching (grace after a start)
        silent_since = datetime.fromtimestamp(deadline - limit, UTC)
        env = Env(None, float(device.expected_interval_s))
        state, change = rule.tick(HeldState(last_seen=silent_since), now, env)
        if change is None:  # not due after all (an interval changed): look again later
            self._scan_devices(now)
            return
        self._state[key] = state
        self._apply(device, entry, change)

    def _apply(self, device: DeviceInfo, entry: RuleEntry, tr: Transition | Change) -> None:
        if tr.kind == "resolve":
            alert = self.store.resolve(device.id, entry.name, tr.value, tr.at)
            if alert is not None:
                self.announce.recovery(alert)
            return
        assert tr.severity is not None
        message = None
        if isinstance(entry.rule, ThresholdRule):
            state = self._state.get((device.id, entry.name))
            crossed = state.beyond_since.get(tr.severity) if state is not None else None
            if crossed is not None:
                message = beyond_since(entry.rule.direction, crossed)
        else:
            metric = getattr(tr, "metric", None) or entry.metric or "data"
            since = getattr(tr, "since", None) or tr.at
            message = detail_for(entry.rule.kind, metric, since, tr.threshold)
        alert, kind = self.store.fire(
            device.id, entry.name, tr.severity, tr.at, metric=entry.metric or "",
            value=tr.value, threshold=tr.threshold, site_id=device.site_id, message=message,
            tags=self._tags(device, entry),
        )  # fmt: skip
        if kind is not None:
            log.info("alert %s %s: %s/%s %s", alert.id, kind, device.id, entry.name, tr.severity)
            self.announce.notify(alert, kind, previous=tr.previous)

    @staticmethod
    def _tags(device: DeviceInfo, entry: RuleEntry) -> list[str]:
        tags = [f"role:{r}" for r in entry.roles]
        unit = getattr(device, "care_unit_id", None)
        if unit:
            # a care device's alerts are care data: only that unit's staff see and get them
            tags.append(f"care_unit:{unit}")
        return tags

    # -- alerts from outside the rule engine ---------------------------------------------

    def raise_external(
        self,
        source_id: str,
        rule: str,
        severity: str,
        message: str,
        tags: Iterable[str] = (),
        at: datetime | None = None,
        *,
        site_id: str | None = None,
    ) -> Alert:
        """Raise (or update) the alert for ``(source_id, rule)``; see /work/notes/alerts-api.md."""
        if severity not in SEVERITIES:
            raise RuleConfigError(f"severity must be one of {', '.join(SEVERITIES)}")
        if not 0 < len(source_id) <= 64 or not 0 < len(rule) <= 100:
            raise RuleConfigError("source_id must be 1-64 characters and rule 1-100")
        when = at or self._clock()
        with self._lock:
            alert, kind = self.store.fire(
                source_id, rule, severity, when, site_id=site_id, message=message,
                tags=list(tags), origin="external",
            )  # fmt: skip
            if kind is not None:
                self.announce.notify(alert, kind)
            return alert

    def resolve_external(
        self,
        source_id: str,
        rule: str,
        at: datetime | None = None,
        *,
        actor: str = "system",
        note: str | None = None,
    ) -> Alert | None:
        """Resolve the open alert for ``(source_id, rule)``; None when none is open."""
        with self._lock:
            alert = self.store.resolve(source_id, rule, None, at or self._clock(), actor, note)
            if alert is not None:
                self.announce.recovery(alert)
            return alert

    def erase_external(self, source_ids: Iterable[str]) -> int:
        """Erase every alert about these sources (a person's erasure), telling nobody: a
        "resolved" message would send their data out once more."""
        with self._lock:
            return self.store.erase_sources(source_ids)

    # -- people acting on alerts ---------------------------------------------------------

    def acknowledge(self, alert_id: int, actor: str, at: datetime, note: str | None) -> Alert:
        with self._lock:
            return self.store.acknowledge(alert_id, actor, at, note)

    def resolve_manually(self, alert_id: int, actor: str, at: datetime, note: str | None) -> Alert:
        with self._lock:
            alert = self.store.resolve_by_id(alert_id, at, actor, note)
            # the rule starts afresh: a latched alarm re-arms, a hold is timed again
            key = (alert.device_id, alert.rule)
            self._state.pop(key, None)
            self._pending.discard(key)
            self._deadline.pop(key, None)
            self.announce.recovery(alert)
            return alert

    def follow_up(self, now: datetime) -> None:
        with self._lock:
            self.announce.follow_up(now)
