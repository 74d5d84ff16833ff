"""Rule kinds besides the threshold, table-driven with an injected clock.

Closing-time cases use wall-clock Europe/Stockholm, including the nights of the DST changes
(29 March 2026: 02:00 → 03:00; 25 October 2026: 03:00 → 02:00) and hours crossing midnight.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.rules import (
    AfterClosingRule,
    Env,
    EventRule,
    NoDataRule,
    RuleState,
    StateHeldRule,
    last_closing,
)
from alerts.rules.specs import build_rule, effective_specs, scopes_for
from devices.catalogue import CATALOGUE
from devices.reading import Reading
from devices.sites import SiteSchedule

STHLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)  # a Wednesday


def local(y: int, mo: int, d: int, h: int, mi: int = 0, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=STHLM, fold=fold).astimezone(UTC)


def run(rule: Any, env: Env, steps: list[tuple[datetime, Any]]) -> list[tuple[datetime, str]]:
    """Feed (time, value) steps (value ``None``: a clock tick) and collect transitions."""
    state = RuleState()
    out = []
    for at, value in steps:
        if value is None:
            state, ch = rule.tick(state, at, env)
        else:
            state, ch = rule.evaluate(state, Reading("d-1", at, rule.metric, value), at, env)
        if ch is not None:
            out.append((at, ch.kind))
    return out


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


DOOR = StateHeldRule("freezer_door_open_too_long", "door_open", True, 600, "warning")


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # closed door: nothing
        ([(s(0), False), (s(900), None)], []),
        # open 9 min then closed: nothing
        ([(s(0), True), (s(540), None), (s(560), False), (s(1200), None)], []),
        # open and left open: the clock fires it at 10 min without a new reading
        ([(s(0), True), (s(599), None), (s(600), None), (s(700), None)], [(s(600), "fire")]),
        # repeated "open" reports do not restart the hold, nor fire twice
        ([(s(0), True), (s(300), True), (s(600), True), (s(900), True)], [(s(600), "fire")]),
        # closing resolves
        ([(s(0), True), (s(600), None), (s(650), False)], [(s(600), "fire"), (s(650), "resolve")]),
        # a brief close restarts the hold
        ([(s(0), True), (s(500), False), (s(510), True), (s(1000), None), (s(1110), None)],
         [(s(1110), "fire")]),
    ],
)  # fmt: skip
def test_state_held_too_long(steps: list[tuple[datetime, Any]], expected: list[Any]) -> None:
    assert run(DOOR, Env(), steps) == expected


WEEKDAYS_7_16 = SiteSchedule.from_json(
    {d: {"open": "07:00", "close": "16:00"} for d in ("mon", "tue", "wed", "thu", "fri")}, []
)
EVERY_DAY_7_16 = SiteSchedule.from_json(
    {d: {"open": "07:00", "close": "16:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                        "sun")}, []
)  # fmt: skip
NIGHT_CLUB = SiteSchedule.from_json(  # crosses midnight: closes 02:30 the next calendar day
    {d: {"open": "18:00", "close": "02:30"} for d in ("fri", "sat")}, []
)
FREEZER_AFTER = AfterClosingRule("freezer_door_open_after_closing", "door_open", True, 120)
NOT_ARMED = AfterClosingRule("premises_not_armed_after_closing", "armed", False, 0)


@pytest.mark.parametrize(
    ("rule", "schedule", "steps", "expected"),
    [
        # door open 15:55 (open hours), still open: 2 min after closing → critical at 16:02
        (FREEZER_AFTER, WEEKDAYS_7_16,
         [(local(2026, 6, 3, 15, 55), True), (local(2026, 6, 3, 16, 1), None),
          (local(2026, 6, 3, 16, 2), None), (local(2026, 6, 3, 16, 10), False)],
         [(local(2026, 6, 3, 16, 2), "fire"), (local(2026, 6, 3, 16, 10), "resolve")]),
        # door open during open hours only: nothing
        (FREEZER_AFTER, WEEKDAYS_7_16,
         [(local(2026, 6, 3, 12, 0), True), (local(2026, 6, 3, 15, 0), None),
          (local(2026, 6, 3, 15, 59), False), (local(2026, 6, 3, 16, 30), None)], []),
        # a closed Saturday: open > 2 min is critical at any hour
        (FREEZER_AFTER, WEEKDAYS_7_16,
         [(local(2026, 6, 6, 11, 0), True), (local(2026, 6, 6, 11, 1), None),
          (local(2026, 6, 6, 11, 2), None)],
         [(local(2026, 6, 6, 11, 2), "fire")]),
        # opening time ends the after-hours alert even if the door is still open
        (FREEZER_AFTER, WEEKDAYS_7_16,
         [(local(2026, 6, 3, 20, 0), True), (local(2026, 6, 3, 20, 2), None),
          (local(2026, 6, 4, 6, 59), None), (local(2026, 6, 4, 7, 0), None)],
         [(local(2026, 6, 3, 20, 2), "fire"), (local(2026, 6, 4, 7, 0), "resolve")]),
        # premises not armed since noon, no reading after: the clock fires at closing time
        (NOT_ARMED, WEEKDAYS_7_16,
         [(local(2026, 6, 3, 12, 0), False), (local(2026, 6, 3, 15, 59, 59 // 60), None),
          (local(2026, 6, 3, 16, 0), None), (local(2026, 6, 3, 16, 20), True)],
         [(local(2026, 6, 3, 16, 0), "fire"), (local(2026, 6, 3, 16, 20), "resolve")]),
        # armed before closing: nothing
        (NOT_ARMED, WEEKDAYS_7_16,
         [(local(2026, 6, 3, 12, 0), False), (local(2026, 6, 3, 15, 50), True),
          (local(2026, 6, 3, 16, 0), None)], []),
        # crossing midnight: Friday's hours end 02:30 on Saturday
        (NOT_ARMED, NIGHT_CLUB,
         [(local(2026, 6, 5, 23, 0), False), (local(2026, 6, 6, 2, 29), None),
          (local(2026, 6, 6, 2, 30), None)],
         [(local(2026, 6, 6, 2, 30), "fire")]),
        # DST spring (Sat 28 → Sun 29 March): 02:30 does not exist; the clock shows 03:30 CEST
        # = 01:30 UTC, one hour after 00:30 UTC, which is when it would be without the change
        (NOT_ARMED, NIGHT_CLUB,
         [(local(2026, 3, 28, 23, 0), False), (datetime(2026, 3, 29, 1, 29, tzinfo=UTC), None),
          (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), None)],
         [(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "fire")]),
        # DST autumn (Sat 24 → Sun 25 October): 02:30 happens twice; the first one counts
        # (02:30 CEST = 00:30 UTC), not the repeated 02:30 CET (01:30 UTC)
        (NOT_ARMED, NIGHT_CLUB,
         [(local(2026, 10, 24, 23, 0), False), (datetime(2026, 10, 25, 0, 29, tzinfo=UTC), None),
          (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), None)],
         [(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "fire")]),
        # the day of the spring change: 16:00 is 14:00 UTC (CEST), the day before 15:00 UTC
        (NOT_ARMED, EVERY_DAY_7_16,
         [(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), False),
          (datetime(2026, 3, 28, 14, 59, tzinfo=UTC), None),
          (datetime(2026, 3, 28, 15, 0, tzinfo=UTC), None),
          (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), None),  # opens 07:00 CEST = 05:00 UTC
          (datetime(2026, 3, 29, 13, 59, tzinfo=UTC), None),
          (datetime(2026, 3, 29, 14, 0, tzinfo=UTC), None)],
         [(datetime(2026, 3, 28, 15, 0, tzinfo=UTC), "fire"),
          (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "resolve"),
          (datetime(2026, 3, 29, 14, 0, tzinfo=UTC), "fire")]),
        # a site without opening hours is never "closed" for this rule
        (NOT_ARMED, None, [(s(0), False), (s(86400), None)], []),
    ],
)  # fmt: skip
def test_after_closing(
    rule: AfterClosingRule,
    schedule: SiteSchedule | None,
    steps: list[tuple[datetime, Any]],
    expected: list[Any],
) -> None:
    assert run(rule, Env(schedule), steps) == expected


def test_last_closing_crosses_midnight_and_dst() -> None:
    assert last_closing(NIGHT_CLUB, local(2026, 6, 6, 12, 0)) == local(2026, 6, 6, 2, 30)
    assert last_closing(NIGHT_CLUB, local(2026, 6, 6, 2, 29)) is None  # Thursday was closed
    assert last_closing(NIGHT_CLUB, datetime(2026, 10, 25, 1, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


LEAK = EventRule("water_leak", "water_leak", "critical")
BUTTON = EventRule("safety_alarm_pressed", "alarm_button", "critical", latched=True)


@pytest.mark.parametrize(
    ("rule", "steps", "expected"),
    [
        (LEAK, [(s(0), False), (s(10), True)], [(s(10), "fire")]),  # at once, no hold
        (LEAK, [(s(0), True), (s(5), True), (s(9), False)], [(s(0), "fire"), (s(9), "resolve")]),
        (LEAK, [(s(0), True), (s(3600), None)], [(s(0), "fire")]),  # the clock changes nothing
        # latched: the button's "released" does not clear it; a person does
        (BUTTON, [(s(0), True), (s(1), False), (s(60), True)], [(s(0), "fire")]),
    ],
)
def test_immediate_event(rule: EventRule, steps: list[Any], expected: list[Any]) -> None:
    assert run(rule, Env(), steps) == expected


SILENT = NoDataRule("device_silent", factor=3)


def run_nodata(rule: NoDataRule, env: Env, steps: list[tuple[datetime, str | None, Any]]) -> list:
    state = RuleState()
    out = []
    for at, metric, value in steps:
        if metric is None:
            state, ch = rule.tick(state, at, env)
        elif rule.metrics is not None and metric not in rule.metrics:  # the engine's index
            continue
        else:
            state, ch = rule.evaluate(state, Reading("d-1", at, metric, value), at, env)
        if ch is not None:
            out.append((at, ch.kind))
    return out


@pytest.mark.parametrize(
    ("env", "steps", "expected"),
    [
        # expected every 600 s, factor 3: silent for 1800 s → warning, from the clock
        (Env(expected_interval_s=600),
         [(s(0), "temperature", -20), (s(1799), None, None), (s(1800), None, None),
          (s(1900), None, None), (s(2000), "temperature", -20)],
         [(s(1800), "fire"), (s(2000), "resolve")]),
        # any metric counts as a sign of life
        (Env(expected_interval_s=600),
         [(s(0), "temperature", -20), (s(1000), "battery", 90), (s(2700), None, None),
          (s(2800), None, None)],
         [(s(2800), "fire")]),
        # LWT / availability "offline": at once; "online" resolves
        (Env(expected_interval_s=600),
         [(s(0), "temperature", -20), (s(10), "online", False), (s(20), "online", True)],
         [(s(10), "fire"), (s(20), "resolve")]),
        # after a restart every device gets a full period of grace from watching_since
        (Env(expected_interval_s=600, watching_since=s(5000)),
         [(s(0), "temperature", -20), (s(5001), None, None), (s(6799), None, None),
          (s(6800), None, None)],
         [(s(6800), "fire")]),
        # a device never heard from: counted from the first tick
        (Env(expected_interval_s=60), [(s(0), None, None), (s(179), None, None),
                                       (s(180), None, None)], [(s(180), "fire")]),
    ],
)  # fmt: skip
def test_no_data(env: Env, steps: list[Any], expected: list[Any]) -> None:
    assert run_nodata(SILENT, env, steps) == expected


def test_no_data_per_metric_ignores_other_metrics() -> None:
    probe = NoDataRule("probe_silent", factor=2, metric="temperature", interval_s=600)
    steps = [(s(0), "temperature", -20), (s(900), "battery", 80), (s(1200), None, None)]
    assert run_nodata(probe, Env(), steps) == [(s(1200), "fire")]


def freezer_rules(layers: list[dict[str, Any]], device: str = "frys-1", site: str = "skola"):
    t = CATALOGUE["freezer"]
    from alerts.rules.specs import DEFAULT_RULES

    specs = effective_specs(
        [*t.rules, *DEFAULT_RULES], t.metrics, scopes_for(device, "freezer", site), layers
    )
    return {sp["name"]: build_rule(sp) for sp in specs}


@pytest.mark.parametrize(
    ("layers", "expected_hold"),
    [
        ([], 1800.0),  # catalogue default: above -18 °C for 30 min
        ([{"freezer_too_warm": {"hold_s": 900}}], 900.0),  # everywhere
        ([{"type:freezer/freezer_too_warm": {"hold_s": 900}}], 900.0),
        # site beats type, device beats site, whatever the order of the keys
        ([{"device:frys-1/freezer_too_warm": {"hold_s": 60},
           "site:skola/freezer_too_warm": {"hold_s": 300},
           "type:freezer/freezer_too_warm": {"hold_s": 900}}], 60.0),
        ([{"site:skola/freezer_too_warm": {"hold_s": 300}},
          {"type:freezer/freezer_too_warm": {"hold_s": 900}}], 300.0),
        # another site's override does not apply
        ([{"site:annan/freezer_too_warm": {"hold_s": 5}}], 1800.0),
    ],
)  # fmt: skip
def test_freezer_above_minus_18_for_a_configurable_time(
    layers: list[dict[str, Any]], expected_hold: float
) -> None:
    rule = freezer_rules(layers)["freezer_too_warm"].rule
    assert rule.hold_s == expected_hold
    state, tr = rule.evaluate(RuleState(), Reading("frys-1", T0, "temperature", -17.0), T0, Env())
    assert tr is None
    state, tr = rule.tick(state, T0 + timedelta(seconds=expected_hold - 1), Env())
    assert tr is None
    state, tr = rule.tick(state, T0 + timedelta(seconds=expected_hold), Env())
    assert tr is not None
    assert (tr.kind, tr.severity, tr.threshold) == ("fire", "warning", -18.0)


def test_overrides_disable_and_add_rules() -> None:
    rules = freezer_rules(
        [
            {"device:frys-1/freezer_door_open_too_long": {"enabled": False}},
            {"site:skola/door_open_long_night": {"kind": "state_held", "metric": "door_open",
                                                 "hold_s": 60}},
        ]
    )  # fmt: skip
    assert "freezer_door_open_too_long" not in rules
    assert rules["door_open_long_night"].rule.hold_s == 60
    assert {"device_silent", "battery_low", "freezer_door_open_after_closing"} <= set(rules)


def test_battery_rule_only_for_types_with_a_battery() -> None:
    from alerts.rules.specs import DEFAULT_RULES

    t = CATALOGUE["premises_alarm"]
    names = [sp["name"] for sp in effective_specs([*t.rules, *DEFAULT_RULES], t.metrics, [], [])]
    assert "battery_low" not in names
    assert "device_silent" in names
