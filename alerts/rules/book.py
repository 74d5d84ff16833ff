"""Which rules a device runs: the catalogue's, the health defaults and every override layer,
compiled once per (device, type, site) and indexed for the hot path; plus what a rule may know
about the device's world (its site's opening hours, its expected interval)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.rules.model import Env
from alerts.rules.specs import DEFAULT_RULES, RuleEntry, build_rule, effective_specs, scopes_for
from devices.catalogue import CATALOGUE
from devices.registry import DeviceInfo, DeviceRegistry
from devices.sites import SiteSchedule

__all__ = ["Compiled", "RuleBook"]

log = logging.getLogger(__name__)

OverrideSource = Callable[[], Mapping[str, Mapping[str, Any]]]


@dataclass(slots=True)
class Compiled:
    entries: list[RuleEntry]
    by_metric: dict[str, list[RuleEntry]] = field(default_factory=dict)
    every_metric: list[RuleEntry] = field(default_factory=list)  # rules any reading concerns
    from_start: list[RuleEntry] = field(default_factory=list)  # watched before any reading
    by_name: dict[str, RuleEntry] = field(default_factory=dict)


class RuleBook:
    def __init__(
        self,
        registry: DeviceRegistry,
        settings_overrides: Mapping[str, Mapping[str, Any]] | None = None,
        api_overrides: OverrideSource | None = None,
    ) -> None:
        self.registry = registry
        self._settings_overrides = dict(settings_overrides or {})
        self._api_overrides = api_overrides or (lambda: {})
        self._compiled: dict[tuple[str, str, str | None], Compiled] = {}
        self._schedules: dict[str, tuple[float, SiteSchedule | None]] = {}

    def compiled(self, device: DeviceInfo, strict: bool = False) -> Compiled:
        key = (device.id, device.type, device.site_id)
        found = self._compiled.get(key)
        if found is not None:
            return found
        sensor_type = CATALOGUE.get(device.type)
        base = [*(sensor_type.rules if sensor_type else ()), *DEFAULT_RULES]
        metrics = sensor_type.metrics if sensor_type else ()
        layers = [self._settings_overrides, self._api_overrides()]
        found = Compiled([])
        for spec in effective_specs(base, metrics, scopes_for(*key), layers):
            if sensor_type is not None and sensor_type.care and "roles" not in spec:
                # a care device's health is the night staff's business (a dead bed sensor is
                # a missed check) and the technicians'; not the facility staff's
                spec = {**spec, "roles": ("night_staff", "technician")}
            try:
                entry = build_rule(spec)
            except ValueError as exc:  # one bad override must not stop the others
                if strict:
                    raise
                log.error("device %s: %s (rule skipped)", device.id, exc)
                continue
            found.entries.append(entry)
            found.by_name[entry.name] = entry
            watched = entry.rule.metrics
            if watched is None:
                found.every_metric.append(entry)
            else:
                for metric in watched:
                    found.by_metric.setdefault(metric, []).append(entry)
            if entry.rule.starts_watching:
                found.from_start.append(entry)
        self._compiled[key] = found
        return found

    def rules_for(self, device: DeviceInfo | str, *, strict: bool = False) -> list[RuleEntry]:
        """A device's effective rules; given a type name, the type's rules (for charts)."""
        if isinstance(device, str):
            device = DeviceInfo("", device, "", None, None, "active", 600)
        return self.compiled(device, strict).entries

    def check(self) -> None:
        """Compile every device's and every type's rules; raises ``RuleConfigError``."""
        self._compiled.clear()
        try:
            for info in self.registry.all_info():
                self.rules_for(info, strict=True)
            for type_key in CATALOGUE:
                self.rules_for(type_key, strict=True)
        finally:
            self._compiled.clear()

    def clear(self) -> None:
        self._compiled.clear()

    def env(self, device: DeviceInfo, watching_since: datetime | None) -> Env:
        schedule = None
        if device.site_id is not None:
            cached = self._schedules.get(device.site_id)
            if cached is None or time.monotonic() - cached[0] > 60:
                cached = (time.monotonic(), self.registry.site_schedule(device.site_id))
                self._schedules[device.site_id] = cached
            schedule = cached[1]
        if schedule is not None and not schedule.hours:
            schedule = None  # no opening hours entered: we cannot know when it is closed
        return Env(schedule, float(device.expected_interval_s), watching_since)
