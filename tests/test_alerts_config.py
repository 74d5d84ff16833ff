"""Alerting configuration from a TOML file: recipients with tags, follow-up, scoped overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from alerts.outbox import DeliveryRecord, Outbox
from core.db import Base, make_engine, make_sessionmaker
from gateway.settings import load_settings

TOML = """
[rule_overrides.shed_too_hot]
hold_s = 120

[rule_overrides."site:vattenverket/shed_too_hot"]
levels = [["warning", 27.0], ["critical", 32.0]]

[rule_overrides."device:frys-3/freezer_door_open_too_long"]
enabled = false

[alerting]
reminder_s = { critical = 600, warning = 0 }
escalation = [ { after_s = 600, roles = ["oncall"] },
               { after_s = 180, roles = ["shift_lead"], match = ["care_unit:*"] } ]

[[alerting.recipients]]
name = "Fastighetsjouren"
url = "mailto://smtp.kommun.example?from=larm@kommun.example&to=jour@kommun.example"
tags = ["site:vattenverket", "role:facility"]

[[alerting.recipients]]
name = "Beredskap"
url = "json://larm.kommun.example/hook"
tags = ["role:oncall", "severity:critical"]
"""


def test_alerting_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "kommunvakt.toml"
    path.write_text(TOML)
    settings = load_settings(path, data_dir=tmp_path)
    cfg = settings.alerting
    recipients = cfg.recipient_list([])
    assert [(r.name, sorted(r.tags)) for r in recipients] == [
        ("Fastighetsjouren", ["role:facility", "site:vattenverket"]),
        ("Beredskap", ["role:oncall", "severity:critical"]),
    ]
    policy = cfg.follow_up()
    assert policy.reminder_s == {"critical": 600.0, "warning": 0.0}
    assert [(s.after_s, s.roles, s.match) for s in policy.escalation] == [
        (600.0, ("oncall",), ()),
        (180.0, ("shift_lead",), ("care_unit:*",)),
    ]
    assert settings.rule_overrides["site:vattenverket/shed_too_hot"]["levels"][1] == [
        "critical",
        32.0,
    ]
    # the start-up log never shows a recipient's URL (it may hold a password)
    masked = str(settings.masked())
    assert "smtp.kommun.example" not in masked
    assert "larm.kommun.example" not in masked


def test_bad_alerting_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[alerting]\nescalation = [ { after_s = 600 } ]\n")
    with pytest.raises(ValidationError, match="roles"):
        load_settings(path, data_dir=tmp_path)
    path.write_text('[alerting]\nrecipients = [ { url = "x", colour = "red" } ]\n')
    with pytest.raises(ValidationError, match="colour"):
        load_settings(path, data_dir=tmp_path)


def test_outbox_retention_keeps_pending_messages(tmp_path: Path) -> None:
    from alerts.store import AlertStore

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    now = datetime(2026, 11, 22, tzinfo=UTC)
    old = now - timedelta(days=30)
    alert, _ = AlertStore(sessions).fire("frys-1", "freezer_too_warm", "warning", old)
    outbox = Outbox(sessions)
    sent = outbox.enqueue(alert.id, "fire", "k1", "json://x", "Jour", "t", "b", "warning", old)
    outbox.mark_sent(sent, old)
    outbox.enqueue(alert.id, "reminder", "k2", "mailto://x", "Jour", "t", "b", "warning", old)
    outbox.record(DeliveryRecord(alert.id, old, "fire", "json://x", True, None))
    outbox.record(DeliveryRecord(alert.id, now, "fire", "json://x", True, None))
    assert outbox.prune(now - timedelta(days=7), now - timedelta(days=7)) == 2
    assert [i.state for i in outbox.items()] == ["pending"]
    assert len(outbox.deliveries()) == 1
