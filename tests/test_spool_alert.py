"""The spool's backlog becomes one platform alert through the real alert engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.stores import SpoolWatch
from ingest.errors import StoreError
from ingest.spool import SpooledStore
from tests.test_spool import Backend, readings


def test_backlog_warns_full_is_critical_and_drained_resolves(platform: Any, tmp_path: Path) -> None:
    now = [datetime(2026, 11, 22, 3, 0, tzinfo=UTC)]
    backend = Backend()
    backend.down = True
    spool = SpooledStore(
        backend, tmp_path / "spool.db", batch_size=50, flush_interval=0.02, max_backoff=0.05,
        max_readings=100, clock=lambda: now[0],
    )  # fmt: skip
    watch = SpoolWatch(spool, platform.engine, backlog_s=600)

    def spool_alerts() -> list[Any]:
        return [a for a in platform.alerts.open_alerts() if a.rule == SpoolWatch.RULE]

    watch.tick(now[0])
    assert spool_alerts() == []
    spool.write(readings(0, 60))
    now[0] += timedelta(minutes=5)
    watch.tick(now[0])
    assert spool_alerts() == []  # five minutes of backlog: not yet
    now[0] += timedelta(minutes=6)
    watch.tick(now[0])
    (alert,) = spool_alerts()
    assert (alert.severity, alert.origin, alert.device_id) == (
        "warning",
        "external",
        "influxdb-spool",
    )
    assert "InfluxDB tar inte emot" in (alert.message or "")
    with pytest.raises(StoreError, match="spool full"):  # refused: the pipeline stops acking
        spool.write(readings(60, 120))
    watch.tick(now[0])
    (alert,) = spool_alerts()
    assert alert.severity == "critical"  # the same alert, escalated
    backend.down = False
    assert spool.flush(10)
    watch.tick(now[0])
    assert spool_alerts() == []
    history = platform.alerts.transitions(alert.id)
    assert [h["kind"] for h in history] == ["fire", "change", "resolve"]
    spool.close()
