"""The threshold rule: hold time, hysteresis, several severities; pure, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.rules import Env, RuleState, ThresholdRule
from devices.reading import Reading

SHED = ThresholdRule(
    name="shed_too_hot",
    metric="temperature",
    levels=(("warning", 25.0), ("critical", 30.0)),
    hold_s=300,
    hysteresis=1.0,
)
T0 = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def evaluate(
    rule: ThresholdRule, state: RuleState, value: float, at: datetime
) -> tuple[RuleState, Any]:
    return rule.evaluate(state, Reading("shed-1", at, rule.metric, value), at, Env())


def tick(rule: ThresholdRule, state: RuleState, at: datetime) -> tuple[RuleState, Any]:
    return rule.tick(state, at, Env())


def run(
    rule: ThresholdRule, steps: list[tuple[int, float | None]]
) -> list[tuple[int, str, str | None]]:
    """Feed (seconds, value) steps (None = a clock tick) and collect the transitions."""
    state = RuleState()
    out = []
    for seconds, value in steps:
        at = T0 + timedelta(seconds=seconds)
        if value is None:
            state, tr = tick(rule, state, at)
        else:
            state, tr = evaluate(rule, state, value, at)
        if tr is not None:
            out.append((seconds, tr.kind, tr.severity))
    return out


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # below every level: nothing
        ([(0, 20.0), (600, 24.9)], []),
        # above warning but not for the hold time: nothing
        ([(0, 26.0), (200, 26.0), (299, 24.0)], []),
        # warning held for 5 minutes
        ([(0, 26.0), (300, 26.5)], [(300, "fire", "warning")]),
        # the clock fires it without a new reading
        ([(0, 26.0), (299, None), (300, None)], [(300, "fire", "warning")]),
        # straight to critical: critical after the hold, not warning first
        ([(0, 31.0), (300, None)], [(300, "fire", "critical")]),
        # warning, then critical held: one change
        (
            [(0, 26.0), (300, 31.0), (600, 31.0)],
            [(300, "fire", "warning"), (600, "change", "critical")],
        ),
        # hysteresis: critical holds at 29.5 (> 30 - 1), drops to warning at 28.9
        (
            [(0, 31.0), (300, 31.0), (400, 29.5), (500, 28.9)],
            [(300, "fire", "critical"), (500, "change", "warning")],
        ),
        # resolves only below 25 - 1
        (
            [(0, 26.0), (300, 26.0), (400, 24.5), (500, 23.9)],
            [(300, "fire", "warning"), (500, "resolve", None)],
        ),
        # flapping around 25: one alert, no storm
        (
            [
                (0, 25.5),
                (300, 25.5),
                (310, 24.6),
                (320, 25.4),
                (330, 24.2),
                (340, 25.3),
                (350, 23.5),
            ],
            [(300, "fire", "warning"), (350, "resolve", None)],
        ),
        # a dip below the threshold restarts the hold
        (
            [(0, 26.0), (200, 24.0), (250, 26.0), (500, 26.0), (550, None)],
            [(550, "fire", "warning")],
        ),
    ],
)
def test_shed_rule(
    steps: list[tuple[int, float | None]], expected: list[tuple[int, str, str | None]]
) -> None:
    assert run(SHED, steps) == expected


def test_below_direction_for_low_battery() -> None:
    rule = ThresholdRule(
        "battery_low",
        "battery",
        (("warning", 20.0), ("critical", 5.0)),
        direction="below",
        hysteresis=5.0,
    )
    assert run(rule, [(0, 50.0), (1, 19.0), (2, 4.0), (3, 22.0), (4, 26.0)]) == [
        (1, "fire", "warning"),
        (2, "change", "critical"),
        (3, "change", "warning"),
        (4, "resolve", None),
    ]


def test_restored_state_resolves_without_firing_again() -> None:
    state = SHED.restored("critical", T0)
    state, tr = evaluate(SHED, state, 31.0, T0 + timedelta(hours=1))
    assert tr is None
    state, tr = evaluate(SHED, state, 20.0, T0 + timedelta(hours=2))
    assert tr is not None
    assert (tr.kind, tr.previous) == ("resolve", "critical")
