"""``raise_external`` / ``resolve_external``: the public way to raise an alert no rule produces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def test_raise_update_resolve_external(platform: Any) -> None:
    engine = platform.engine
    tags = ["care_unit:natt-1", "role:night_staff"]
    a = engine.raise_external(
        "resident-17", "missed_check", "warning", "Missad tillsyn 02:00", tags, T0
    )
    assert (a.state, a.severity, a.origin, a.tags) == ("active", "warning", "external", tuple(tags))
    # same severity again: the same alert, no new transition
    again = engine.raise_external("resident-17", "missed_check", "warning", "igen", tags, T0)
    assert again.id == a.id
    # a higher severity updates the same alert
    worse = engine.raise_external(
        "resident-17",
        "missed_check",
        "critical",
        "Missad tillsyn 02:00, ingen svarar",
        tags,
        T0 + timedelta(minutes=5),
    )
    assert (worse.id, worse.severity) == (a.id, "critical")
    # a different rule for the same source is a separate alert
    other = engine.raise_external(
        "resident-17", "technical_failure", "critical", "Kamera nere", tags, T0
    )
    assert other.id != a.id
    done = engine.resolve_external(
        "resident-17",
        "missed_check",
        T0 + timedelta(minutes=9),
        actor="natt-anna",
        note="besökt, allt väl",
    )
    assert done is not None
    assert (done.state, done.resolved_by, done.resolved_while_unacknowledged) == (
        "resolved",
        "natt-anna",
        True,
    )
    assert engine.resolve_external("resident-17", "missed_check", T0) is None
    kinds = [t["kind"] for t in platform.alerts.transitions(a.id)]
    assert kinds == ["fire", "change", "resolve"]
    # with no recipients configured the log is the channel, and every message is recorded
    assert {d.kind for d in platform.alerting.outbox.deliveries(a.id)} >= {
        "fire",
        "change",
        "resolve",
    }


def test_raise_external_refuses_what_it_cannot_store(platform: Any) -> None:
    import pytest

    from alerts.errors import RuleConfigError

    with pytest.raises(RuleConfigError, match="severity"):
        platform.engine.raise_external("r-1", "missed_check", "urgent", "x", (), T0)
    with pytest.raises(RuleConfigError, match="source_id"):
        platform.engine.raise_external("r" * 65, "missed_check", "warning", "x", (), T0)
