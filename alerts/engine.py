"""The alert engine: runs each device's rules on its readings and on the clock, and follows up.

Rule evaluation is pure (``alerts.rules``, ``alerts.kinds``); this module keeps the
per-(device, rule) state, persists transitions through ``AlertStore`` and hands messages to the
``Notifier``. State survives a restart: open alerts are read back and their rules resume as
firing; the follow-up (reminders, escalation) continues from what the store remembers.

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

from alerts.followup import FollowUp, FollowUpPolicy, due, escalated_roles
from alerts.kinds import Change, Env, HeldState, NoDataRule
from alerts.links import AckLinks
from alerts.messages import compose, detail_for
from alerts.notify import Notifier
from alerts.outbox import DeliveryRecord
from alerts.routing import alert_tags
from alerts.rules import RuleState, ThresholdRule, Transition, evaluate, restored, tick
from alerts.silences import SilenceStore
from alerts.specs import DEFAULT_RULES, RuleEntry, build_rule, effective_specs, scopes_for
from alerts.store import Alert, AlertStore
from devices.catalogue import CATALOGUE
from devices.registry import DeviceInfo, DeviceRegistry
from devices.sites import SiteSchedule
from ingest.reading import Reading

__all__ = ["AlertEngine"]

log = logging.getLogger(__name__)

OverrideSource = Callable[[], Mapping[str, Mapping[str, Any]]]


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
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.registry = registry
        self.base_url = base_url.rstrip("/")
        self.policy = policy or FollowUpPolicy()
        self.silences = silences
        self.links = links
        self._settings_overrides = dict(rule_overrides or {})
        self._api_overrides = api_overrides or (lambda: {})
        self._clock = clock
        self._rules: dict[tuple[str, str, str | None], list[RuleEntry]] = {}
        self._state: dict[tuple[str, str], Any] = {}
        self._sites: dict[str, tuple[float, SiteSchedule | None, str | None]] = {}
        self._value_written: dict[tuple[str, str], float] = {}
        self._lock = threading.RLock()
        self.watching_since: datetime | None = None

    # -- configuration -------------------------------------------------------------------

    def rules_for(self, device: DeviceInfo | str, *, strict: bool = False) -> list[RuleEntry]:
        """A device's effective rules; given a type name, the type's rules (for charts)."""
        if isinstance(device, str):
            device = DeviceInfo("", device, "", None, None, "active", 600)
        key = (device.id, device.type, device.site_id)
        entries = self._rules.get(key)
        if entries is None:
            sensor_type = CATALOGUE.get(device.type)
            base = [*(sensor_type.rules if sensor_type else ()), *DEFAULT_RULES]
            metrics = sensor_type.metrics if sensor_type else ()
            layers = [self._settings_overrides, self._api_overrides()]
            specs = effective_specs(base, metrics, scopes_for(*key), layers)
            entries = []
            for spec in specs:
                try:
                    entries.append(build_rule(spec))
                except ValueError as exc:  # one bad override must not stop the others
                    if strict:
                        raise
                    log.error("device %s: %s (rule skipped)", device.id, exc)
            self._rules[key] = entries
        return entries

    def check_rules(self) -> None:
        """Compile every device's and every type's rules; raises ``RuleConfigError``."""
        with self._lock:
            self._rules.clear()
            try:
                for info in self.registry.all_info():
                    self.rules_for(info, strict=True)
                for type_key in CATALOGUE:
                    self.rules_for(type_key, strict=True)
            finally:
                self._rules.clear()

    def reload_rules(self) -> None:
        """Forget the compiled rules (after an override or a device changed)."""
        with self._lock:
            self._rules.clear()

    def _site(self, site_id: str | None) -> tuple[SiteSchedule | None, str | None]:
        if site_id is None:
            return None, None
        cached = self._sites.get(site_id)
        if cached is None or time.monotonic() - cached[0] > 60:
            schedule = self.registry.site_schedule(site_id)
            names = {s.id: s.name for s in self.registry.list_sites()}
            cached = (time.monotonic(), schedule, names.get(site_id))
            self._sites[site_id] = cached
        return cached[1], cached[2]

    def _env(self, device: DeviceInfo) -> Env:
        schedule, _name = self._site(device.site_id)
        if schedule is not None and not schedule.hours:
            schedule = None  # no opening hours entered: we cannot know when it is closed
        return Env(schedule, float(device.expected_interval_s), self.watching_since)

    # -- rule evaluation -------------------------------------------------------------------

    def restore(self, now: datetime | None = None) -> int:
        """Resume the rules of alerts that were open when the platform stopped."""
        self.watching_since = now or self._clock()
        count = 0
        with self._lock:
            for alert in self.store.open_alerts():
                info = self.registry.info(alert.device_id)
                if alert.origin != "rule" or info is None:
                    continue
                for entry in self.rules_for(info):
                    if entry.name != alert.rule:
                        continue
                    rule = entry.rule
                    if isinstance(rule, ThresholdRule):
                        state: Any = restored(rule, alert.severity, alert.started_at)
                    else:
                        state = HeldState(alert.severity, None, alert.started_at)
                    self._state[(alert.device_id, entry.name)] = state
                    count += 1
        return count

    def on_readings(self, readings: Iterable[tuple[DeviceInfo, Reading]]) -> None:
        with self._lock:
            for device, reading in readings:
                if device.state != "active":
                    continue
                for entry in self.rules_for(device):
                    self._evaluate(device, entry, reading)

    def _evaluate(self, device: DeviceInfo, entry: RuleEntry, reading: Reading) -> None:
        rule, key = entry.rule, (device.id, entry.name)
        change: Transition | Change | None
        if isinstance(rule, ThresholdRule):
            if rule.metric != reading.metric or isinstance(reading.value, str | bool):
                return
            state = self._state.get(key, RuleState())
            state, change = evaluate(rule, state, float(reading.value), reading.time)
        elif isinstance(rule, NoDataRule):
            if not rule.counts(reading.metric):
                return
            state = self._state.get(key, HeldState())
            state, change = rule.evaluate(
                state, reading.metric, reading.value, reading.time, self._env(device)
            )
        else:
            if rule.metric != reading.metric:
                return
            state = self._state.get(key, HeldState())
            state, change = rule.evaluate(state, reading.value, reading.time, self._env(device))
        self._state[key] = state
        if change is not None:
            self._apply(device, entry, change)
        elif isinstance(rule, ThresholdRule) and state.firing is not None:
            self._refresh_value(key, float(reading.value), reading.time)  # type: ignore[arg-type]

    def _refresh_value(self, key: tuple[str, str], value: float, at: datetime) -> None:
        # keep the stored value of a firing alert current for reminders and the page, but
        # write at most every 30 s per alert: a chatty sensor must not turn into SQL load
        last = self._value_written.get(key)
        if last is not None and time.monotonic() - last < 30:
            return
        self._value_written[key] = time.monotonic()
        self.store.update_value(key[0], key[1], value, at)

    def tick(self, now: datetime) -> None:
        """Every second: hold times, closing times, silent devices; then the follow-up."""
        with self._lock:
            for device in self.registry.all_info():
                if device.state != "active":
                    continue
                for entry in self.rules_for(device):
                    self._tick_rule(device, entry, now)
            self.follow_up(now)

    def _tick_rule(self, device: DeviceInfo, entry: RuleEntry, now: datetime) -> None:
        key, rule = (device.id, entry.name), entry.rule
        state = self._state.get(key)
        change: Transition | Change | None
        if isinstance(rule, ThresholdRule):
            if state is None or not state.beyond_since:
                return
            state, change = tick(rule, state, now)
        elif isinstance(rule, NoDataRule):
            state, change = rule.tick(state or HeldState(), now, self._env(device))
        else:
            if state is None or (state.since is None and state.firing is None):
                return
            state, change = rule.tick(state, now, self._env(device))
        self._state[key] = state
        if change is not None:
            self._apply(device, entry, change)

    def _apply(self, device: DeviceInfo, entry: RuleEntry, tr: Transition | Change) -> None:
        if tr.kind == "resolve":
            alert = self.store.resolve(device.id, entry.name, tr.value, tr.at)
            if alert is not None:
                self._announce_recovery(alert)
            return
        assert tr.severity is not None
        message = None
        if not isinstance(entry.rule, ThresholdRule):
            metric = getattr(tr, "metric", None) or entry.metric or "data"
            since = getattr(tr, "since", None) or tr.at
            message = detail_for(entry.rule.kind, metric, since, tr.threshold)
        alert, kind = self.store.fire(
            device.id,
            entry.name,
            tr.severity,
            tr.at,
            metric=entry.metric or "",
            value=tr.value,
            threshold=tr.threshold,
            site_id=device.site_id,
            message=message,
            tags=[f"role:{r}" for r in entry.roles],
        )
        if kind is not None:
            log.info("alert %s %s: %s/%s %s", alert.id, kind, device.id, entry.name, tr.severity)
            self._notify(alert, kind, previous=tr.previous)

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
        when = at or self._clock()
        with self._lock:
            alert, kind = self.store.fire(
                source_id,
                rule,
                severity,
                when,
                site_id=site_id,
                message=message,
                tags=list(tags),
                origin="external",
            )
            if kind is not None:
                self._notify(alert, kind)
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
                self._announce_recovery(alert)
            return alert

    # -- people acting on alerts ---------------------------------------------------------

    def acknowledge(self, alert_id: int, actor: str, at: datetime, note: str | None) -> Alert:
        with self._lock:
            return self.store.acknowledge(alert_id, actor, at, note)

    def resolve_manually(self, alert_id: int, actor: str, at: datetime, note: str | None) -> Alert:
        with self._lock:
            alert = self.store.resolve_by_id(alert_id, at, actor, note)
            # the rule starts afresh: a latched alarm re-arms, a hold is timed again
            self._state.pop((alert.device_id, alert.rule), None)
            self._announce_recovery(alert)
            return alert

    # -- messages --------------------------------------------------------------------------

    def follow_up(self, now: datetime) -> None:
        for alert in self.store.open_alerts():
            for step in due(alert, now, self.policy, self._silenced(alert, now)):
                self._follow(alert, step, now)

    def _follow(self, alert: Alert, step: FollowUp, now: datetime) -> None:
        if step.kind == "fire":
            self._notify(alert, "fire_after_silence", now=now)
        elif step.kind == "reminder":
            self._notify(alert, "reminder", now=now)
        else:
            self._notify(alert, "escalate", now=now, level=step.level, roles=step.roles)

    def _silenced(self, alert: Alert, now: datetime) -> bool:
        if self.silences is None:
            return False
        return self.silences.matching(alert.site_id, alert.device_id, alert.rule, now) is not None

    def _names(self, alert: Alert) -> tuple[str, str | None, str | None]:
        device = self.registry.info(alert.device_id)
        if device is None:  # an external alert: the source is not a device
            return alert.rule.replace("_", " "), self._site(alert.site_id)[1], None
        return device.name or device.id, self._site(device.site_id)[1], device.place

    def _notify(
        self,
        alert: Alert,
        kind: str,
        *,
        previous: str | None = None,
        now: datetime | None = None,
        level: int | None = None,
        roles: tuple[str, ...] = (),
    ) -> None:
        at = now or alert.updated_at
        if self._silenced(alert, at):
            self.store.note_follow_up(alert.id, at, "suppressed", note=kind)
            self.notifier.outbox.record(
                DeliveryRecord(alert.id, at, kind, "-", True, None, outcome="suppressed")
            )
            return
        device_name, site_name, place = self._names(alert)
        links = self.links
        title, body = compose(
            alert,
            kind,
            device_name=device_name,
            site_name=site_name,
            place=place,
            page_link=f"{self.base_url}/alerts#alert-{alert.id}",
            ack_link=(lambda r: links.url(alert.id, r, at)) if links is not None else None,
            reminder_no=alert.reminders_sent + 1,
            previous_severity=previous,
        )
        extra = [*alert.tags, *(f"role:{r}" for r in escalated_roles(alert, self.policy))]
        if kind == "escalate":
            extra = [t for t in alert.tags if not t.startswith("role:")]
        tags = alert_tags(
            severity=alert.severity,
            roles=roles,
            site_id=alert.site_id,
            device_id=alert.device_id,
            rule=alert.rule,
            extra=extra,
        )
        self.notifier.dispatch(alert.id, kind, title, body, alert.severity, tags, at)
        follow = {"reminder": "reminder", "escalate": "escalate"}.get(kind, "notified")
        self.store.note_follow_up(alert.id, at, follow, escalation_level=level)  # type: ignore[arg-type]

    def _announce_recovery(self, alert: Alert) -> None:
        log.info("alert %s resolved: %s/%s", alert.id, alert.device_id, alert.rule)
        if alert.last_notified_at is None:
            return  # nobody was told it began (silenced): nothing to tell now
        self._notify(alert, "resolve", now=alert.resolved_at)
