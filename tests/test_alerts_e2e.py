"""End to end: Mosquitto in, a real SMTP server (aiosmtpd) and a real HTTP receiver out.

The platform runs as a process; apprise delivers ``mailto://`` to the SMTP server on loopback and
``json://`` to the HTTP receiver. Checked: the mail's Swedish body and its acknowledge link,
routing by site and role, reminders, escalation, recovery, an SMTP outage during which messages
queue and are delivered after it, and a restart with an alert firing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.alert_sinks import JsonSink, SmtpSink, ack_link
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for
from tests.test_e2e_gateway import mosquitto_pub, shed_payload

pytestmark = pytest.mark.mosquitto

SHED = {
    "id": "tb-7",
    "type": "technical_shed_temperature",
    "name": "Teknikbod 7",
    "site_id": "vattenverket",
    "place": "Pumprum",
}


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def hook() -> Iterator[JsonSink]:
    sink = JsonSink().start()
    yield sink
    sink.stop()


def start(
    factory: Any, path: Path, broker: Mosquitto, alerting: dict[str, Any], hold_s: int = 0
) -> Any:
    proc = factory(
        path,
        mqtt_url=broker.url,
        env={
            "KOMMUNVAKT_ALERTING": json.dumps(alerting),
            "KOMMUNVAKT_RULE_OVERRIDES": json.dumps({"shed_too_hot": {"hold_s": hold_s}}),
        },
    )
    proc.env["KOMMUNVAKT_BASE_URL"] = proc.base_url
    return proc.start()


def setup_shed(proc: Any) -> None:
    proc.post("/api/v1/sites", {"id": "vattenverket", "name": "Vattenverket"})
    proc.post("/api/v1/devices", SHED)


def test_mail_and_webhook_ack_link_reminder_escalation_recovery(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path, smtp: SmtpSink, hook: JsonSink
) -> None:
    alerting = {
        "recipients": [
            {"name": "Fastighetsjouren", "url": smtp.url("jour@kommun.example"),
             "tags": ["site:vattenverket", "role:facility"]},
            {"name": "Beredskap", "url": hook.url("oncall"), "tags": ["role:oncall"]},
            {"name": "Skolans vaktmästare", "url": hook.url("skola"), "tags": ["site:skola"]},
        ],
        "reminder_s": {"critical": 2},
        "escalation": [{"after_s": 3, "roles": ["oncall"]}],
    }  # fmt: skip
    proc = start(platform_factory, tmp_path / "kv", mosquitto, alerting)
    setup_shed(proc)
    mosquitto_pub(mosquitto, "kv/tb-7/up", shed_payload(31.0))

    wait_for(lambda: smtp.matching("Kritiskt larm:"), timeout=20, what="the alert mail")
    (mail,) = smtp.matching("Kritiskt larm:")
    assert mail.subject == "Kritiskt larm: Teknikbod 7 (Vattenverket, Pumprum)"
    assert mail.recipients == ["jour@kommun.example"]
    assert "Kritiskt larm för Teknikbod 7 på Vattenverket, Pumprum." in mail.body
    assert "Temperatur 31 °C, gräns 30 °C." in mail.body
    assert re.search(r"Sedan 20\d\d-\d\d-\d\d \d\d:\d\d\.", mail.body)
    link = ack_link(mail.body)
    assert link.startswith(f"{proc.base_url}/ack/")

    # follow-up while nobody acts: a reminder by mail, then the on-call list by webhook
    wait_for(lambda: smtp.matching("Påminnelse 1: Kritiskt larm"), what="a reminder")
    wait_for(lambda: hook.at("oncall"), what="escalation to on-call")
    assert hook.at("oncall")[0]["title"].startswith("Eskalerat, ej kvitterat: Kritiskt larm")
    assert "/ack/" in hook.at("oncall")[0]["message"]
    assert hook.at("skola") == []  # another site's recipient hears nothing

    # acknowledge from the phone: GET confirms only, POST from the page acknowledges
    with httpx.Client(timeout=10) as phone:
        page = phone.get(link)
        assert page.status_code == 200
        (alert,) = proc.get("/api/v1/alerts")
        assert alert["state"] == "active"
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        done = phone.post(link, data={"csrf_token": token.group(1)})
        assert "Larmet är kvitterat" in done.text
    alert = proc.get(f"/api/v1/alerts/{alert['id']}")
    assert (alert["state"], alert["acknowledged_by"]) == ("acknowledged", "länk: Fastighetsjouren")

    mosquitto_pub(mosquitto, "kv/tb-7/up", shed_payload(23.0))
    wait_for(lambda: smtp.matching("Återställt:"), what="the recovery mail")
    (recovery,) = smtp.matching("Återställt:")
    assert "Kvitterat av länk: Fastighetsjouren." in recovery.body
    wait_for(
        lambda: any(b["title"].startswith("Återställt") for b in hook.at("oncall")),
        what="recovery to the escalated role",
    )
    deliveries = proc.get("/api/v1/deliveries", alert_id=alert["id"])
    assert {d["recipient"] for d in deliveries} == {"Fastighetsjouren", "Beredskap"}
    assert all(d["outcome"] == "sent" for d in deliveries)


def test_smtp_outage_queues_and_delivers_after(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path, hook: JsonSink
) -> None:
    smtp = SmtpSink()  # not listening yet: the mail server is down
    alerting = {
        "recipients": [
            {"name": "Jour", "url": smtp.url(), "tags": ["role:facility"]},
            {"name": "Larmcentral", "url": hook.url("central"), "tags": []},
        ],
        "retry_first_s": 0.5,
        "retry_max_s": 1,
    }
    proc = start(platform_factory, tmp_path / "kv", mosquitto, alerting)
    setup_shed(proc)
    proc.post("/api/v1/devices", {"id": "lacka-1", "type": "water_leak", "name": "Läcka kök",
                                  "site_id": "vattenverket", "place": "Kök"})  # fmt: skip
    mosquitto_pub(mosquitto, "kv/tb-7/up", shed_payload(31.0))
    # the webhook is not held back by the mail server being down
    wait_for(lambda: hook.at("central"), what="the webhook")
    failed = wait_for(
        lambda: proc.get("/api/v1/deliveries", outcome="failed"), what="a failed mail attempt"
    )
    assert failed[0]["recipient"] == "Jour"
    assert failed[0]["error"]
    mosquitto_pub(mosquitto, "kv/lacka-1/up", json.dumps({"values": {"water_leak": True}}))
    wait_for(lambda: len(hook.at("central")) >= 2, what="the leak on the webhook")
    pending = proc.get("/api/v1/deliveries/outbox", state="pending")
    assert [p["recipient"] for p in pending] == ["Jour", "Jour"]
    assert all(p["attempts"] >= 1 and p["last_error"] for p in pending[1:])
    assert (
        'kommunvakt_alert_outbox{state="pending"} 2'
        in httpx.get(
            f"{proc.base_url}/metrics", headers={"Authorization": f"Bearer {proc.token}"}
        ).text
    )

    smtp.start()  # the mail server is back
    try:
        wait_for(lambda: len(smtp.mails) >= 2, timeout=20, what="both queued mails")
        subjects = smtp.subjects()
        assert subjects[0] == "Kritiskt larm: Teknikbod 7 (Vattenverket, Pumprum)"
        assert subjects[1] == "Kritiskt larm: Läcka kök (Vattenverket, Kök)"
        assert "Vattenläckage upptäckt" in smtp.mails[1].body
        assert proc.get("/api/v1/deliveries/outbox", state="pending") == []
    finally:
        smtp.stop()


def test_restart_with_an_alert_firing(
    mosquitto: Mosquitto, platform_factory: Any, tmp_path: Path, smtp: SmtpSink
) -> None:
    alerting = {
        "recipients": [{"name": "Jour", "url": smtp.url(), "tags": []}],
        "reminder_s": {"critical": 2},
        "escalation": [],
    }
    proc = start(platform_factory, tmp_path / "kv", mosquitto, alerting)
    setup_shed(proc)
    mosquitto_pub(mosquitto, "kv/tb-7/up", shed_payload(31.0))
    wait_for(lambda: smtp.matching("Påminnelse 1:"), timeout=20, what="the first reminder")
    proc.stop()

    again = start(platform_factory, tmp_path / "kv", mosquitto, alerting)
    mosquitto_pub(mosquitto, "kv/tb-7/up", shed_payload(31.5))  # still hot after the restart
    wait_for(lambda: smtp.matching("Påminnelse 3:"), timeout=20, what="reminders continue")
    subjects = smtp.subjects()
    assert len(smtp.matching("Kritiskt larm:")) == 1, subjects  # no duplicate first message
    assert len(smtp.matching("Påminnelse 2:")) == 1, subjects
    (alert,) = again.get("/api/v1/alerts")
    assert alert["state"] == "active"
    assert alert["reminders_sent"] >= 3
    assert alert["value"] == 31.5  # the same alert, updated
