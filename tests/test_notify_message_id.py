"""Notifications are at least once; a repeat is recognisable by its id.

A crash between the service taking a message and the outbox marking it sent leaves the row
pending, and the next start sends it again. That state is made here directly in the outbox
(the row put back to pending after its delivery), then the real notifier sends to a real SMTP
server (aiosmtpd) and a real HTTP receiver: both copies carry the same id, and another
transition of the same alert carries another id in the same mail thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from alerts.models import OutboxRow
from gateway.platform import Platform
from gateway.settings import load_settings
from tests.support.alert_sinks import JsonSink, Mail, SmtpSink
from tests.support.net import wait_for
from tests.support.platform import TOKEN


@pytest.fixture
def sinks() -> Iterator[tuple[SmtpSink, JsonSink]]:
    smtp, hook = SmtpSink().start(), JsonSink().start()
    yield smtp, hook
    smtp.stop()
    hook.stop()


def test_a_resent_transition_carries_the_same_id_and_another_transition_another(
    tmp_path: Path, sinks: tuple[SmtpSink, JsonSink]
) -> None:
    smtp, hook = sinks
    alerting = {
        "recipients": [
            {"name": "Jouren", "url": smtp.url(), "tags": ["role:operator"]},
            {"name": "Larmcentral", "url": hook.url("larm"), "tags": ["role:operator"]},
        ],
        "retry_first_s": 0.2,
    }
    platform = Platform(
        load_settings(data_dir=tmp_path / "data", admin_token=TOKEN, alerting=alerting)
    )
    platform.start(mqtt=False)
    try:
        engine = platform.engine
        engine.raise_external(
            "pump-7", "pump_stopped", "critical", "Pumpen står", ["role:operator"]
        )
        wait_for(lambda: len(smtp.mails) == 1 and len(hook.requests) == 1, what="first sends")
        # the crash: delivered, but the outbox never heard (the rows are pending again)
        with platform.sessions() as s:
            s.execute(update(OutboxRow).values(state="pending", sent_at=None))
            s.commit()
        wait_for(lambda: len(smtp.mails) == 2 and len(hook.requests) == 2, what="the repeat")
        engine.resolve_external("pump-7", "pump_stopped", datetime.now(UTC))
        wait_for(lambda: len(smtp.mails) == 3 and len(hook.requests) == 3, what="recovery")
    finally:
        platform.stop()

    fire, again, resolved = smtp.mails

    def ids(mail: Mail) -> list[str]:
        return mail.header("X-Kommunvakt-Message-Id")

    assert ids(fire) == ids(again)
    assert len(ids(fire)) == 1
    assert ids(resolved) != ids(fire)
    assert len(ids(resolved)) == 1
    # one thread per alert: every message refers to the same root
    threads = {tuple(m.header("References")) for m in (fire, again, resolved)}
    assert len(threads) == 1
    assert [m.header("In-Reply-To") for m in (fire, resolved)] == [list(threads.pop())] * 2
    # staff see the id, and that a repeat can happen
    assert ids(fire)[0] in fire.body
    assert "två gånger" in fire.body
    # apprise's own Message-ID stays the only one (RFC 5322: at most one)
    assert all(len(m.header("Message-ID")) == 1 for m in (fire, again, resolved))

    keys = [headers.get("Idempotency-Key") for _path, headers in hook.requests]
    assert keys[0] is not None
    assert keys[0] == keys[1] == ids(fire)[0]
    assert keys[2] == ids(resolved)[0]
