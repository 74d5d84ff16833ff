"""Follow-up (reminders, escalation), routing by tags and acknowledge links: pure, table-driven."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.errors import AckLinkError
from alerts.followup import EscalationStep, FollowUpPolicy, due, escalated_roles
from alerts.links import AckLinks, load_or_create_secret
from alerts.routing import alert_tags, matches
from alerts.store import Alert
from core.db import Base, make_engine, make_sessionmaker

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
ALERT = Alert(
    id=1, device_id="frys-1", rule="freezer_door_open_too_long", origin="rule", metric="door_open",
    severity="critical", state="active", value=1.0, threshold=600.0, site_id="skola",
    message=None, tags=("role:facility",), started_at=T0, updated_at=T0, acknowledged_at=None,
    acknowledged_by=None, resolved_at=None, resolved_by=None,
    resolved_while_unacknowledged=False, last_notified_at=T0, reminders_sent=0,
    escalation_level=0,
)  # fmt: skip
POLICY = FollowUpPolicy(
    reminder_s={"critical": 300.0},
    escalation=(EscalationStep(600.0, ("oncall",)), EscalationStep(1800.0, ("manager",))),
)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("changes", "now", "silenced", "expected"),
    [
        ({}, m(4), False, []),
        ({}, m(5), False, [("reminder", 0, ())]),
        ({"last_notified_at": m(5), "reminders_sent": 1}, m(9), False, []),
        ({"last_notified_at": m(5), "reminders_sent": 1}, m(10), False,
         [("escalate", 1, ("oncall",))]),
        # after the first step, reminders continue until the next step
        ({"last_notified_at": m(10), "escalation_level": 1}, m(15), False, [("reminder", 0, ())]),
        ({"last_notified_at": m(25), "escalation_level": 1}, m(30), False,
         [("escalate", 2, ("manager",))]),
        # a restart after a long outage: one escalation to the highest step due, not two
        ({}, m(45), False, [("escalate", 2, ("manager",))]),
        # acknowledged: nothing more, ever
        ({"state": "acknowledged"}, m(60), False, []),
        ({"state": "resolved"}, m(60), False, []),
        # silenced: nothing now ...
        ({}, m(20), True, []),
        # ... and an alert never announced (fired inside a silence) is announced after it
        ({"last_notified_at": None}, m(20), False, [("fire", 0, ())]),
        # warning has no reminder interval in this policy
        ({"severity": "warning"}, m(9), False, []),
    ],
)  # fmt: skip
def test_due(changes: dict, now: datetime, silenced: bool, expected: list) -> None:
    alert = replace(ALERT, **changes)
    assert [(f.kind, f.level, f.roles) for f in due(alert, now, POLICY, silenced)] == expected


def test_max_reminders_and_ladder_match() -> None:
    capped = replace(POLICY, max_reminders=2, escalation=())
    assert due(replace(ALERT, reminders_sent=2), m(60), capped, False) == []
    care_only = FollowUpPolicy(escalation=(EscalationStep(180, ("shift_lead",), ("care_unit:*",)),))
    assert [f.kind for f in due(ALERT, m(20), care_only, False)] == ["reminder"]  # no care unit
    care = replace(ALERT, tags=("care_unit:natt-1",))
    assert [f.kind for f in due(care, m(20), care_only, False)] == ["escalate"]
    care = replace(care, escalation_level=1)
    step = FollowUpPolicy(escalation=(EscalationStep(180, ("shift_lead",), ("care_unit:natt-1",)),))
    assert escalated_roles(care, step) == ("shift_lead",)


FACILITY = alert_tags(severity="warning", roles=["facility"], site_id="vattenverket",
                      device_id="tb-7", rule="shed_too_hot")  # fmt: skip
CRITICAL = alert_tags(severity="critical", roles=["facility"], site_id="vattenverket")
ONCALL = alert_tags(severity="critical", roles=["oncall"], site_id="skola")
CARE = alert_tags(severity="critical", roles=[], extra=["care_unit:natt-1", "role:night_staff"])


@pytest.mark.parametrize(
    ("recipient", "alert", "expected"),
    [
        ([], FACILITY, True),  # no tags: everything
        (["all"], CARE, True),
        (["site:vattenverket"], FACILITY, True),
        (["site:skola"], FACILITY, False),
        (["site:vattenverket", "site:skola"], FACILITY, True),  # one of a dimension's values
        (["site:vattenverket", "severity:critical"], FACILITY, False),
        (["site:vattenverket", "severity:critical"], CRITICAL, True),
        (["role:oncall"], FACILITY, False),
        (["role:oncall"], ONCALL, True),
        (["role:facility", "site:vattenverket"], ONCALL, False),
        (["care_unit:natt-1", "role:night_staff"], CARE, True),
        (["care_unit:natt-2", "role:night_staff"], CARE, False),
        (["Site:VattenVerket"], FACILITY, True),  # tags are case-insensitive
        (["kök"], FACILITY, False),  # a bare tag must be on the alert as it is
        (["care_unit:*"], CARE, True),
        (["care_unit:*"], FACILITY, False),
    ],
)
def test_routing(recipient: list[str], alert: frozenset[str], expected: bool) -> None:
    assert matches(recipient, alert) is expected


@pytest.fixture
def links(tmp_path: Path) -> AckLinks:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(engine)
    secret = load_or_create_secret(tmp_path / "alert_link_secret")
    assert load_or_create_secret(tmp_path / "alert_link_secret") == secret  # kept across starts
    assert (tmp_path / "alert_link_secret").stat().st_mode & 0o077 == 0
    return AckLinks(secret, make_sessionmaker(engine), "https://kv.example", ttl_s=3600)


def test_ack_link_signed_expiring_single_use(links: AckLinks) -> None:
    url = links.url(42, "Fastighetsjouren", T0)
    assert url.startswith("https://kv.example/ack/")
    token = url.rsplit("/", 1)[1]
    claim = links.verify(token, T0 + timedelta(minutes=59))
    assert (claim.alert_id, claim.recipient) == (42, "Fastighetsjouren")
    with pytest.raises(AckLinkError, match="gått ut"):
        links.verify(token, T0 + timedelta(minutes=60))
    payload, mac = token.split(".")
    forged = payload.replace(payload[3], "A" if payload[3] != "A" else "B", 1) + "." + mac
    with pytest.raises(AckLinkError, match="ogiltig"):
        links.verify(forged, T0)
    with pytest.raises(AckLinkError, match="ogiltig"):
        links.verify("nonsense", T0)
    assert not links.is_used(claim)
    links.use(claim, T0)
    assert links.is_used(claim)
    with pytest.raises(AckLinkError, match="redan"):
        links.use(claim, T0)
    # another secret does not verify it
    other = AckLinks(b"x" * 32, links._sessions, "https://kv.example")
    with pytest.raises(AckLinkError):
        other.verify(token, T0)
