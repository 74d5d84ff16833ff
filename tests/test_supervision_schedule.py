"""Schedule maths and the check status machine: pure, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.machine import (
    CheckState,
    Outcome,
    Policy,
    apply,
    refusal,
    sensor_finding,
    tick,
)
from supervision.schedule import (
    NIGHT_PIVOT,
    CheckPlan,
    instant,
    night_bounds,
    night_of,
    parse_times,
    phase,
    planned_checks,
    window,
)

STHLM = ZoneInfo("Europe/Stockholm")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def plan(
    *times: str, valid_from: date = date(2026, 1, 1), valid_to: date | None = None
) -> CheckPlan:
    return CheckPlan(parse_times(times), valid_from, valid_to)


@pytest.mark.parametrize(
    ("night", "times", "expected_utc"),
    [
        # an ordinary winter night (CET, UTC+1): evening on the date, the rest the morning after
        (
            date(2026, 11, 21),
            ("22:30", "01:00", "04:00"),
            [utc(2026, 11, 21, 21, 30), utc(2026, 11, 22, 0, 0), utc(2026, 11, 22, 3, 0)],
        ),
        # summer night (CEST, UTC+2)
        (
            date(2026, 7, 4),
            ("23:00", "03:00"),
            [utc(2026, 7, 4, 21, 0), utc(2026, 7, 5, 1, 0)],
        ),
        # March: 02:00-02:59 do not exist on 29 March 2026; 02:30 is done at 03:00 CEST,
        # before the 03:30 check, and 01:30 is still CET
        (
            date(2026, 3, 28),
            ("01:30", "02:30", "03:30"),
            [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)],
        ),
        # March: 02:30 and 03:00 land on the same instant and are one check
        (date(2026, 3, 28), ("02:30", "03:00"), [utc(2026, 3, 29, 1, 0)]),
        # October: 02:00-02:59 happen twice on 25 October 2026; 02:30 is done once, the first
        # time (CEST, 00:30 UTC); 03:00 is CET again (02:00 UTC): 90 real minutes apart
        (
            date(2026, 10, 24),
            ("01:30", "02:30", "03:00"),
            [utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 0)],
        ),
    ],
)
def test_planned_checks_cross_midnight_and_dst(
    night: date, times: tuple[str, ...], expected_utc: list[datetime]
) -> None:
    got = [c.due_at for c in planned_checks(plan(*times), night)]
    assert got == expected_utc
    assert all(c.night == night for c in planned_checks(plan(*times), night))


def test_night_order_and_validity() -> None:
    assert parse_times(["04:00", "22:30", "01:00", "22:30"]) == (time(22, 30), time(1), time(4))
    p = plan("22:00", valid_from=date(2026, 11, 20), valid_to=date(2026, 11, 21))
    assert planned_checks(p, date(2026, 11, 19)) == []
    assert len(planned_checks(p, date(2026, 11, 21))) == 1
    assert planned_checks(p, date(2026, 11, 22)) == []
    with pytest.raises(ValueError, match="HH:MM"):
        parse_times(["25:00"])
    with pytest.raises(ValueError, match="at least one"):
        parse_times([])


def test_night_of_pivots_at_noon_and_dst_night_lengths() -> None:
    assert night_of(utc(2026, 11, 22, 3, 0), STHLM) == date(2026, 11, 21)  # 04:00 local
    assert night_of(utc(2026, 11, 22, 10, 59), STHLM) == date(2026, 11, 21)  # 11:59 local
    assert night_of(utc(2026, 11, 22, 11, 0), STHLM) == date(2026, 11, 22)  # 12:00 local
    start, end = night_bounds(date(2026, 3, 28), STHLM)
    assert end - start == timedelta(hours=23)
    start, end = night_bounds(date(2026, 10, 24), STHLM)
    assert end - start == timedelta(hours=25)


def test_grace_window_is_elapsed_time_across_the_october_hour() -> None:
    due = planned_checks(plan("02:30"), date(2026, 10, 24))[0].due_at
    grace = timedelta(minutes=15)
    assert phase(due, due - timedelta(seconds=1), grace) == "upcoming"
    assert phase(due, due, grace) == "due"
    assert phase(due, due + grace - timedelta(seconds=1), grace) == "due"
    assert phase(due, due + grace, grace) == "overdue"
    # one hour later the wall clock shows 02:30 again: that is not a second check
    assert phase(due, due + timedelta(hours=1), grace) == "overdue"
    w = window(due, grace, timedelta(minutes=10))
    assert (w.closes - w.opens) == timedelta(minutes=25)


POLICY = Policy(
    grace=timedelta(minutes=15),
    recheck=timedelta(minutes=15),
    ladder=("phone", "visit"),
    step=timedelta(minutes=10),
)
DUE = utc(2026, 11, 22, 1, 30)


def test_ok_within_window() -> None:
    s, steps = apply(
        CheckState("scheduled", DUE), Outcome("ok", DUE, "camera:np-3", "camera"), POLICY
    )
    assert s.status == "ok"
    assert [(x.from_status, x.to_status, x.actor) for x in steps] == [
        ("scheduled", "ok", "camera:np-3")
    ]


def test_missed_exactly_when_the_grace_window_ends() -> None:
    s0 = CheckState("scheduled", DUE)
    s, steps = tick(s0, DUE + timedelta(minutes=14, seconds=59), POLICY)
    assert (s.status, steps) == ("scheduled", [])
    s, steps = tick(s0, DUE + timedelta(minutes=15), POLICY)
    assert s.status == "missed"
    assert steps[0].at == DUE + timedelta(minutes=15)
    assert steps[0].actor == "system"


def test_not_seen_recheck_then_escalation_ladder() -> None:
    found = DUE + timedelta(minutes=2)
    s, steps = apply(
        CheckState("scheduled", DUE), Outcome("not_seen", found, "np-1", "camera"), POLICY
    )
    assert [x.to_status for x in steps] == ["not_seen", "recheck_pending"]
    assert s.recheck_at == found + timedelta(minutes=15)
    # nothing by the re-check time + grace: escalated to the first rung
    s2, steps = tick(s, s.recheck_at + timedelta(minutes=14), POLICY)
    assert steps == []
    s2, steps = tick(s, s.recheck_at + timedelta(minutes=15), POLICY)
    assert (s2.status, steps[0].rung) == ("escalated", "phone")
    # the next rung after the step time
    s3, steps = tick(s2, s2.escalated_at + timedelta(minutes=10), POLICY)
    assert (s3.status, s3.rung, steps[0].rung) == ("escalated", 1, "visit")
    s4, steps = tick(s3, s3.escalated_at + timedelta(hours=5), POLICY)
    assert steps == []  # the ladder has no third rung
    s5, steps = apply(s4, Outcome("visit", DUE + timedelta(hours=1), "np-1", "manual"), POLICY)
    assert s5.status == "resolved"


def test_recheck_finding_ok_resolves_and_not_seen_escalates() -> None:
    s, _ = apply(CheckState("scheduled", DUE), Outcome("not_seen", DUE, "np-1", "camera"), POLICY)
    ok, steps = apply(s, Outcome("ok", DUE + timedelta(minutes=15), "np-1", "camera"), POLICY)
    assert (ok.status, steps[0].from_status) == ("resolved", "recheck_pending")
    esc, steps = apply(
        s, Outcome("not_seen", DUE + timedelta(minutes=15), "np-1", "camera"), POLICY
    )
    assert (esc.status, steps[0].rung) == ("escalated", "phone")


def test_abnormal_skips_the_recheck_and_sensor_cannot_end_an_escalation() -> None:
    s, steps = apply(
        CheckState("scheduled", DUE), Outcome("abnormal", DUE, "np-1", "camera"), POLICY
    )
    assert s.status == "escalated"
    same, steps = apply(s, Outcome("ok", DUE, "sensor:bed-1", "sensor"), POLICY)
    assert (same.status, steps) == ("escalated", [])


def test_suspend_skip_cancel_resume_and_refusals() -> None:
    s0 = CheckState("scheduled", DUE)
    sus, _ = apply(s0, Outcome("suspended", DUE, "system", "system"), POLICY)
    assert sus.status == "suspended"
    assert tick(sus, DUE + timedelta(hours=1), POLICY)[1] == []  # never missed
    back, _ = apply(sus, Outcome("resume", DUE, "np-1", "manual"), POLICY)
    assert back.status == "scheduled"
    skipped, _ = apply(s0, Outcome("skipped", DUE, "np-1", "manual"), POLICY)
    assert skipped.status == "skipped_by_resident"
    # a decline taken back: the check waits for its time again (and can then be missed)
    taken_back, _ = apply(skipped, Outcome("resume", DUE, "np-1", "manual"), POLICY)
    assert taken_back.status == "scheduled"
    assert tick(taken_back, DUE + timedelta(hours=1), POLICY)[0].status == "missed"
    cancelled, _ = apply(s0, Outcome("cancel", DUE, "system", "system"), POLICY)
    assert cancelled.status == "cancelled"
    done, _ = apply(s0, Outcome("ok", DUE, "np-1", "manual"), POLICY)
    assert apply(done, Outcome("not_seen", DUE, "np-1", "manual"), POLICY)[1] == []


def test_sensor_finding() -> None:
    now = DUE
    fresh = now - timedelta(minutes=1)
    off = timedelta(minutes=15)
    assert sensor_finding((True, fresh), fresh, now, off, True)[0] == "ok"
    assert sensor_finding((False, fresh), fresh, now, off, True)[0] == "not_seen"
    assert sensor_finding(None, fresh, now, off, True)[0] == "technical_failure"
    stale = now - timedelta(minutes=16)
    assert sensor_finding((True, stale), stale, now, off, True)[0] == "technical_failure"
    assert sensor_finding(None, None, now, off, True)[0] == "technical_failure"
    assert sensor_finding((True, fresh), fresh, now, off, False)[0] == "technical_failure"


# -- properties over every night of 15 years and every minute of the day ---------------------

nights = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@settings(max_examples=400, deadline=None)
@given(nights, minutes)
def test_a_check_is_at_its_wall_time_or_the_first_minute_after_the_jump(
    night: date, t: time
) -> None:
    (check,) = planned_checks(CheckPlan((t,), night), night)
    local = check.due_at.astimezone(STHLM)
    day = night if t >= NIGHT_PIVOT else night + timedelta(days=1)
    if (local.date(), local.time()) == (day, t):
        assert local.fold == 0  # October: the first of the two
    else:  # only in March's missing hour: moved to 03:00, the first minute that exists
        assert (day.month, t.hour, local.time()) == (3, 2, time(3, 0))
    assert night_of(check.due_at, STHLM) == night


@settings(max_examples=200, deadline=None)
@given(nights, st.lists(minutes, min_size=1, max_size=6, unique=True))
def test_checks_of_a_night_are_in_plan_order_inside_the_night(
    night: date, times: list[time]
) -> None:
    plan = CheckPlan(parse_times(t.strftime("%H:%M") for t in times), night)
    checks = planned_checks(plan, night)
    start, end = night_bounds(night, STHLM)
    assert all(start <= c.due_at < end for c in checks)
    assert [c.due_at for c in checks] == sorted({c.due_at for c in checks})
    # the planned order survives (a merged pair keeps the earlier planned time)
    planned = [c.planned for c in checks]
    assert planned == [t for t in plan.times if t in planned]
    assert instant(night, NIGHT_PIVOT, STHLM) == start


@pytest.mark.parametrize(
    ("kind", "source", "minutes", "reason", "expected"),
    [
        ("ok", "manual", -480, None, None),  # eight hours early, no reason: refused
        ("ok", "manual", -480, "sover, sagt godnatt", "early"),
        ("visit", "manual", -11, None, None),
        ("ok", "manual", -10, None, "in window"),  # the window opens `early` before
        ("ok", "manual", 15, None, "in window"),  # and closes at the end of grace
        ("ok", "manual", 16, None, None),
        ("ok", "manual", 16, "larmet gick samtidigt", "late"),
        ("ok", "camera", -10, None, "in window"),  # a camera look keeps its own rules
        ("not_seen", "manual", -480, None, "in window"),  # attention is never held up
        ("abnormal", "manual", -480, None, "in window"),
        ("skipped", "manual", -480, None, "in window"),  # the resident's own choice
    ],
)
def test_a_person_closes_a_check_only_inside_its_window_or_with_a_reason(
    kind: str, source: str, minutes: int, reason: str | None, expected: str | None
) -> None:
    policy = Policy(grace=timedelta(minutes=15), early=timedelta(minutes=10))
    at = DUE + timedelta(minutes=minutes)
    outcome = Outcome(kind, at, "np-1", source, None, reason)  # type: ignore[arg-type]
    _state, steps = apply(CheckState("scheduled", DUE), outcome, policy)
    if expected is None:
        assert steps == []
        assert "timing_reason" in refusal(CheckState("scheduled", DUE), outcome, policy)
    elif expected == "in window":
        assert steps
        assert all(s.timing is None for s in steps)
    else:
        assert [(s.timing, s.timing_reason) for s in steps] == [(expected, reason)]
