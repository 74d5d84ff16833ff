"""From plain data to rules: the catalogue's specs, defaults for every device, and overrides.

A device's rules are its sensor type's ``rules=`` specs plus the device-health defaults below,
with overrides applied in this order (later wins), each a mapping of parameters:

1. ``<rule>`` or ``*/<rule>``   every device
2. ``type:<type>/<rule>``       one sensor type
3. ``site:<site>/<rule>``       one site
4. ``device:<id>/<rule>``       one device

The same keys work in the settings (``rule_overrides`` in TOML/env) and through the API
(``/api/v1/rules/overrides``; API overrides apply after the settings' at the same scope).
``enabled = false`` switches a rule off; an override whose rule does not exist and that names a
``kind`` and a ``metric`` adds a rule (a site that wants a CO₂ warning, say).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alerts.errors import RuleConfigError
from alerts.rule_params import check_params
from alerts.rules.kinds import AfterClosingRule, EventRule, StateHeldRule, spec_bool
from alerts.rules.no_data import NoDataRule
from alerts.rules.threshold import ThresholdRule, rule_from_spec

__all__ = ["DEFAULT_RULES", "AnyRule", "RuleEntry", "build_rule", "effective_specs", "scopes_for"]

#: every kind there is; each one is a ``Rule``
AnyRule = ThresholdRule | StateHeldRule | AfterClosingRule | EventRule | NoDataRule

#: device health for every type: silent too long / offline, and a low battery where there is one
DEFAULT_RULES: tuple[Mapping[str, Any], ...] = (
    {"kind": "no_data", "name": "device_silent", "factor": 3, "severity": "warning"},
    {
        "kind": "threshold",
        "name": "battery_low",
        "metric": "battery",
        "levels": [["warning", 20.0], ["critical", 5.0]],
        "direction": "below",
        "hysteresis": 5.0,
        "requires_metric": "battery",
    },
)


@dataclass(frozen=True, slots=True)
class RuleEntry:
    rule: AnyRule
    roles: tuple[str, ...]
    spec: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def metric(self) -> str | None:
        return self.rule.metric

    def __getattr__(self, name: str) -> Any:
        # charts read ``levels``/``direction`` of threshold rules straight off an entry
        if name.startswith("__") or name == "rule":
            raise AttributeError(name)
        return getattr(self.rule, name)


def build_rule(spec: Mapping[str, Any]) -> RuleEntry:
    """One rule from plain data; a mistake raises ``RuleConfigError`` naming the rule."""
    name = spec.get("name")
    kind = spec.get("kind")
    try:
        check_params(spec)
        rule: AnyRule
        if kind == "threshold":
            rule = rule_from_spec(spec)
        elif kind == "state_held":
            rule = StateHeldRule(
                str(name),
                str(spec["metric"]),
                spec.get("bad", True),
                float(spec.get("hold_s", 600)),
                str(spec.get("severity", "warning")),
            )
        elif kind == "after_closing":
            rule = AfterClosingRule(
                str(name),
                str(spec["metric"]),
                spec.get("bad", True),
                float(spec.get("hold_s", 120)),
                str(spec.get("severity", "critical")),
            )
        elif kind == "event":
            rule = EventRule(
                str(name),
                str(spec["metric"]),
                str(spec.get("severity", "critical")),
                spec_bool(spec, "latched", False),
            )
        elif kind == "no_data":
            interval = spec.get("interval_s")
            rule = NoDataRule(
                str(name),
                float(spec.get("factor", 3)),
                spec.get("metric"),
                float(interval) if interval is not None else None,
                str(spec.get("severity", "warning")),
            )
        else:
            raise RuleConfigError(
                f"rule {name!r}: unknown kind {kind!r}; use threshold, state_held, "
                "after_closing, event or no_data"
            )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RuleConfigError):
            raise
        raise RuleConfigError(f"rule {name!r}: {exc}") from exc
    roles = spec.get("roles") or ("facility",)
    if isinstance(roles, str):
        roles = (roles,)
    return RuleEntry(rule, tuple(str(r) for r in roles), dict(spec))


def scopes_for(device_id: str, device_type: str, site_id: str | None) -> list[str]:
    scopes = ["*", f"type:{device_type}"]
    if site_id:
        scopes.append(f"site:{site_id}")
    scopes.append(f"device:{device_id}")
    return scopes


def _split(key: str) -> tuple[str, str]:
    scope, sep, rule = key.rpartition("/")
    return (scope if sep else "*"), rule


def effective_specs(
    base: Iterable[Mapping[str, Any]],
    metrics: Iterable[str],
    scopes: list[str],
    layers: Iterable[Mapping[str, Mapping[str, Any]]],
) -> list[Mapping[str, Any]]:
    """The specs of one device after every override layer (settings first, then the API)."""
    have = set(metrics)
    specs: dict[str, dict[str, Any]] = {}
    for spec in base:
        needs = spec.get("requires_metric")
        if needs is not None and needs not in have:
            continue
        specs[str(spec["name"])] = dict(spec)
    for scope in scopes:
        for layer in layers:
            for key, params in layer.items():
                key_scope, rule = _split(key)
                if key_scope != scope:
                    continue
                if rule in specs:
                    specs[rule].update(params)
                elif "kind" in params:
                    specs[rule] = {"name": rule, **params}
    return [s for s in specs.values() if spec_bool(s, "enabled", True)]
