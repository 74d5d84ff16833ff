"""The alert engine: runs each device's rules on its readings and on the clock.

The pipeline stores a batch first and then hands its readings to ``on_readings``: a rule sees
only readings that are stored. Rule evaluation is pure (``alerts.rules``: every kind is a
``Rule`` returning a ``Transition``); this module feeds them readings and the clock, keeps
one ``Tracked`` per (device, rule) in ``alerts.tracking``, persists transitions through
``AlertStore`` and lets the ``Announcer`` tell people. State
survives a restart: open alerts are read back and their rules resume as firing; conditions
building up resume from ``RuleStateStore``; the follow-up (reminders, escalation) continues
from what the store remembers.

The hot path is cheap on purpose (it runs for every stored reading): a device's rules are
compiled once and indexed by metric, a "no data" rule only notes the time of each reading,
and the clock tick only visits rules whose ``due`` time has come (a hold running, a door open,
a silence deadline) instead of every device every second.

``raise_external`` / ``resolve_external`` let other parts (e-supervision) raise alerts that no
rule produces, with the same lifecycle, routing, follow-up and acknowledgement.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from alerts.announce import Announcer
from alerts.errors import RuleConfigError
from alerts.followup import FollowUpPolicy
from alerts.links import AckLinks
from alerts.notify import Notifier
from alerts.rules.book import Compiled, OverrideSource, RuleBook
from alerts.rules.model import Env, Transition
from alerts.rules.specs import RuleEntry
from alerts.rulestate import RuleStateStore
from alerts.silences import SilenceStore
from alerts.store import Alert, AlertStore
from alerts.tracking import Key, Tracked, Tracking
from devices.reading import Reading
from devices.registry import DeviceInfo, DeviceRegistry

__all__ = ["AlertEngine"]

log = logging.getLogger(__name__)

SEVERITIES = ("info", "warning", "critical")
VALUE_REFRESH_S = 30.0


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
        self.notifier = notifier
        self.registry = registry
        self.announce = Announcer(
            store, notifier, registry, policy or FollowUpPolicy(), silences, links, base_url,
            clock,
        )  # fmt: skip
        self.rules = RuleBook(registry, rule_overrides, api_overrides)
        self._clock = clock
        self._tracking = Tracking(rule_states)
        self._last_scan = 0.0
        self._rescan = False  # the rules changed: every silence deadline is computed again
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
            self._rescan = True
            self._last_scan = 0.0

    def _compile(self, device: DeviceInfo) -> Compiled:
        return self.rules.compiled(device)

    def _env(self, device: DeviceInfo) -> Env:
        return self.rules.env(device, self.watching_since)

    def _lookup(self, key: Key, *, active: bool = True) -> tuple[DeviceInfo, RuleEntry] | None:
        device = self.registry.info(key[0])
        if device is None or (active and device.state != "active"):
            return None
        entry = self._compile(device).by_name.get(key[1])
        return (device, entry) if entry is not None else None

    # -- state -----------------------------------------------------------------------------

    def restore(self, now: datetime | None = None) -> int:
        """Resume the rules of alerts that were open when the platform stopped."""
        now = self.watching_since = now or self._clock()
        count = 0
        with self._lock:
            for alert in self.store.open_alerts():
                found = self._lookup((alert.device_id, alert.rule), active=False)
                if alert.origin != "rule" or found is None:
                    continue
                device, entry = found
                state = entry.rule.restored(alert.severity, alert.started_at)
                key = (alert.device_id, entry.name)
                tracked = self._tracking.of(key)
                self._tracking.update(key, tracked, entry.rule, state, self._env(device), now)
                count += 1
            count += self._resume_conditions(now)
        return count

    def _resume_conditions(self, now: datetime) -> int:
        """Conditions that were building up (a door open, a shed above 25 °C) carry on."""
        rule_states = self._tracking.rule_states
        if rule_states is None:
            return 0
        count = 0
        for key, (since, value) in rule_states.load().items():
            found = self._lookup(key)
            if key in self._tracking or found is None:
                continue
            device, entry = found
            state = entry.rule.resumed(since, value)
            if state is None:
                continue
            self._tracking.resume(key, entry.rule, state, self._env(device), now)
            count += 1
        return count

    # -- rule evaluation -------------------------------------------------------------------

    def on_readings(self, readings: Iterable[tuple[DeviceInfo, Reading]]) -> None:
        with self._lock:
            now = self._clock()
            env, env_of = Env(), None  # a batch is mostly one device's: its env once
            for device, reading in readings:
                if device.state != "active":
                    continue
                try:
                    compiled = self._compile(device)
                    entries = compiled.by_metric.get(reading.metric, ())
                    if not entries and not compiled.every_metric:
                        continue
                    if device is not env_of:
                        env, env_of = self._env(device), device
                    for entry in entries:
                        self._evaluate(device, entry, reading, now, env)
                    for entry in compiled.every_metric:
                        self._evaluate(device, entry, reading, now, env)
                except Exception:
                    # one strange reading must not keep the rules from the rest of the batch
                    # (nor have the stored batch retried); its value is not logged
                    self.errors += 1
                    log.exception(
                        "rules failed on %s of device %s; the other readings go on",
                        reading.metric[:40],
                        device.id,
                    )

    def _evaluate(
        self, device: DeviceInfo, entry: RuleEntry, reading: Reading, now: datetime, env: Env
    ) -> None:
        key = (device.id, entry.name)
        tracked = self._tracking.of(key)
        before = tracked.state
        state, tr = entry.rule.evaluate(before, reading, now, env)
        self._tracking.update(key, tracked, entry.rule, state, env, now)
        if tr is not None:
            self._apply(device, entry, tr)
        elif state.firing is not None and entry.rule.tracks_value and state is not before:
            self._refresh_value(key, tracked, state.value, reading.time)

    def _refresh_value(self, key: Key, tracked: Tracked, value: float, at: datetime) -> None:
        # keep the stored value of a firing alert current for reminders and the page, but
        # write at most every 30 s per alert: a chatty sensor must not turn into SQL load
        last = tracked.value_written
        if last is not None and time.monotonic() - last < VALUE_REFRESH_S:
            return
        tracked.value_written = time.monotonic()
        self.store.update_value(key[0], key[1], value, at)

    def tick(self, now: datetime) -> None:
        """Every second: holds, closing times, silent devices; then the follow-up."""
        with self._lock:
            if time.monotonic() - self._last_scan > 60:
                self._scan_devices(now)
            for key, tracked in self._tracking.due(now.timestamp()):
                self._tick_rule(key, tracked, now)
            self.announce.follow_up(now)
        self.announce.prune(now)

    def _scan_devices(self, now: datetime) -> None:
        """Give rules watched from the start (silence) a due time even for devices nobody
        has heard from yet (new ones, and after a start); after a rule change, all of them."""
        self._last_scan = time.monotonic()
        rescan, self._rescan = self._rescan, False
        since = self.watching_since or now
        for device in self.registry.all_info():
            if device.state != "active":
                continue
            entries = self._compile(device).from_start
            if not entries:
                continue
            env = replace(self._env(device), watching_since=since)
            for entry in entries:
                key = (device.id, entry.name)
                tracked = self._tracking.of(key)
                if rescan or tracked.due is None:
                    self._tracking.update(key, tracked, entry.rule, tracked.state, env, now)

    def _tick_rule(self, key: Key, tracked: Tracked, now: datetime) -> None:
        found = self._lookup(key)
        if found is None:
            self._tracking.unclock(key, tracked)
            return
        device, entry = found
        env = self._env(device)
        state, tr = entry.rule.tick(tracked.state, now, env)
        self._tracking.update(key, tracked, entry.rule, state, env, now)
        if tr is not None:
            self._apply(device, entry, tr)

    def _apply(self, device: DeviceInfo, entry: RuleEntry, tr: Transition) -> None:
        if tr.kind == "resolve":
            alert = self.store.resolve(device.id, entry.name, tr.value, tr.at)
            if alert is not None:
                self.announce.recovery(alert)
            return
        assert tr.severity is not None
        alert, kind = self.store.fire(
            device.id, entry.name, tr.severity, tr.at, metric=entry.metric or "",
            value=tr.value, threshold=tr.threshold, site_id=device.site_id,
            message=entry.rule.describe(tr), tags=self._tags(device, entry),
        )  # fmt: skip
        if kind is not None:
            log.info("alert %s %s: %s/%s %s", alert.id, kind, device.id, entry.name, tr.severity)
            self.announce.notify(alert, kind, previous=tr.previous)

    @staticmethod
    def _tags(device: DeviceInfo, entry: RuleEntry) -> list[str]:
        tags = [f"role:{r}" for r in entry.roles]
        if device.care_unit_id:
            # a care device's alerts are care data: only that unit's staff see and get them
            tags.append(f"care_unit:{device.care_unit_id}")
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
        """Raise (or update) the alert for ``(source_id, rule)``: same lifecycle as a rule's."""
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
            self._tracking.restart((alert.device_id, alert.rule))
            self.announce.recovery(alert)
            return alert

    def follow_up(self, now: datetime) -> None:
        with self._lock:
            self.announce.follow_up(now)
