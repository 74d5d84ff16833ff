"""Counts per care unit are the only care data for Grafana: line protocol (pure), and written
to a real /api/v2/write server (VictoriaMetrics) by the platform with KOMMUNVAKT_STORE=influxdb.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.platform import Platform
from gateway.settings import load_settings
from supervision.counts import count_lines
from tests.support.net import wait_for
from tests.support.platform import TOKEN
from tests.support.victoriametrics import VictoriaMetrics, victoria_metrics_binary

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=ZoneInfo("Europe/Stockholm")).astimezone(UTC)


def test_count_lines_have_every_status_and_no_personal_data() -> None:
    lines = count_lines({"natt 1": {"missed": 2, "ok": 5}}, ["natt-2"], NOW)
    ms = int(NOW.timestamp() * 1000)
    assert f"supervision_checks,care_unit=natt\\ 1,status=missed count=2i {ms}" in lines
    assert f"supervision_checks,care_unit=natt-2,status=missed count=0i {ms}" in lines
    assert len(lines) == 2 * 10


def test_platform_writes_counts_to_influx(tmp_path: Path) -> None:
    if victoria_metrics_binary() is None:
        pytest.fail("victoria-metrics is not installed; `make test` installs it")
    vm = VictoriaMetrics(tmp_path / "vm").start()
    settings = load_settings(
        data_dir=tmp_path / "d",
        admin_token=TOKEN,
        store="influxdb",
        influx_url=vm.url,
        influx_token="test-token",
        influx_flush_interval_ms=100,
    )
    platform = Platform(settings, clock=lambda: NOW)
    try:
        from devices.models import CareUnitRow

        with platform.sessions() as s:
            s.add(CareUnitRow(id="natt-1", name="Natt 1"))
            s.commit()
        sup = platform.supervision
        r = sup.residents.create("Lgh 1, A.A.", "natt-1", actor="t", now=NOW)
        sup.consents.record(
            r.id, party="resident", scope=["camera"], given_on=date(2026, 1, 1), actor="t", now=NOW
        )
        sup.schedules.add(
            r.id,
            method="camera",
            times=["22:00", "01:00"],
            valid_from=date(2026, 11, 1),
            valid_to=None,
            actor="t",
            now=NOW,
        )
        platform.supervision.refresh()
        platform.start(mqtt=False)

        def scheduled() -> float | None:
            for name, labels, _ts, value in vm.samples():
                if name == "supervision_checks_count" and labels == {
                    "care_unit": "natt-1",
                    "status": "scheduled",
                }:
                    return value
            return None

        assert wait_for(scheduled, 20, 0.3, what="counts in VictoriaMetrics") == 2.0
        names = {name for name, _l, _t, _v in vm.samples()}
        labels = {
            k for _n, lab, _t, _v in vm.samples() for k in lab if _n.startswith("supervision")
        }
        assert labels == {"care_unit", "status"}  # never a resident, never a label
        assert all("Lgh" not in n for n in names)
    finally:
        platform.stop()
        vm.stop()
