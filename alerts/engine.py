"""The alert engine: runs the rules of each device's type on its readings and on the clock.

Rule evaluation is pure (``alerts.rules``); this module keeps the per-(device, rule) state,
persists transitions through ``AlertStore`` and hands notifications to the ``Notifier``.
State survives a restart: open alerts are read back and their rules resume as firing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from alerts.messages import alert_message
from alerts.notify import Notification, Notifier
from alerts.rules import (
    RuleState,
    ThresholdRule,
    Transition,
    evaluate,
    restored,
    rule_from_spec,
    tick,
)
from alerts.store import Alert, AlertStore
from devices.catalogue import CATALOGUE
from devices.registry import DeviceInfo, DeviceRegistry
from ingest.reading import Reading

__all__ = ["AlertEngine"]

log = logging.getLogger(__name__)


class AlertEngine:
    def __init__(
        self,
        store: AlertStore,
        notifier: Notifier,
        registry: DeviceRegistry,
        *,
        rule_overrides: Mapping[str, Mapping[str, Any]] | None = None,
        base_url: str = "http://127.0.0.1:8000",
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.registry = registry
        self.base_url = base_url.rstrip("/")
        self._overrides = dict(rule_overrides or {})
        self._rules: dict[str, list[ThresholdRule]] = {}
        self._state: dict[tuple[str, str], RuleState] = {}
        self._lock = threading.Lock()

    def rules_for(self, device_type: str) -> list[ThresholdRule]:
        rules = self._rules.get(device_type)
        if rules is None:
            sensor_type = CATALOGUE.get(device_type)
            specs = sensor_type.rules if sensor_type else ()
            rules = [
                rule_from_spec({**spec, **self._overrides.get(spec["name"], {})}) for spec in specs
            ]
            self._rules[device_type] = rules
        return rules

    def restore(self) -> int:
        """Resume the rules of alerts that were open when the platform stopped."""
        count = 0
        with self._lock:
            for alert in self.store.open_alerts():
                info = self.registry.info(alert.device_id)
                if info is None:
                    continue
                for rule in self.rules_for(info.type):
                    if rule.name == alert.rule:
                        self._state[(alert.device_id, rule.name)] = restored(
                            rule, alert.severity, alert.started_at
                        )
                        count += 1
        return count

    def on_readings(self, readings: Iterable[tuple[DeviceInfo, Reading]]) -> None:
        with self._lock:
            for device, reading in readings:
                if device.state != "active" or isinstance(reading.value, str | bool):
                    continue
                for rule in self.rules_for(device.type):
                    if rule.metric != reading.metric:
                        continue
                    key = (device.id, rule.name)
                    state = self._state.get(key, RuleState())
                    new_state, transition = evaluate(
                        rule, state, float(reading.value), reading.time
                    )
                    self._state[key] = new_state
                    if transition is not None:
                        self._apply(device, rule, transition)

    def tick(self, now: datetime) -> None:
        with self._lock:
            for (device_id, rule_name), state in list(self._state.items()):
                if not state.beyond_since:
                    continue
                device = self.registry.info(device_id)
                if device is None or device.state != "active":
                    continue
                rule = next((r for r in self.rules_for(device.type) if r.name == rule_name), None)
                if rule is None:
                    continue
                new_state, transition = tick(rule, state, now)
                self._state[(device_id, rule_name)] = new_state
                if transition is not None:
                    self._apply(device, rule, transition)

    def _apply(self, device: DeviceInfo, rule: ThresholdRule, tr: Transition) -> None:
        alert: Alert | None
        if tr.kind == "resolve":
            alert = self.store.resolve(device.id, rule.name, tr.value, tr.at)
        else:
            assert tr.severity is not None
            alert = self.store.fire(
                device.id, rule.name, rule.metric, tr.severity, tr.value, tr.threshold, tr.at
            )
        if alert is None:
            return
        log.info(
            "alert %s %s: device %s rule %s severity %s value %s",
            alert.id,
            tr.kind,
            device.id,
            rule.name,
            tr.severity,
            tr.value,
        )
        title, body = alert_message(
            alert,
            tr.kind,
            device_name=device.name or device.id,
            site=device.site_id,
            place=device.place,
            link=f"{self.base_url}/alerts#alert-{alert.id}",
        )
        self.notifier.submit(Notification(alert.id, tr.kind, title, body, tr.severity))
