"""With KOMMUNVAKT_STORE=influxdb, care readings never reach InfluxDB: over a real Mosquitto, a
shed's temperature lands in a real /api/v2/write server (VictoriaMetrics) and a bed sensor's
``in_bed`` only in ``care_readings.db``; the API still answers it, and Grafana gets the care
devices as counts per care unit, nothing more."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from devices.schemas import CareUnitCreate, DeviceCreate, SiteCreate
from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from gateway.stores import spool_of
from ingest.care_store import CARE_FILE
from ingest.line_protocol import to_ms
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port, wait_for
from tests.support.platform import TOKEN
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


class ShiftedClock:
    """Real time plus an offset the test moves forward (the count writer runs each minute)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self.offset

    def jump(self, by: timedelta) -> None:
        with self._lock:
            self.offset += by


def pub(broker: Mosquitto, device: str, body: object) -> None:
    subprocess.run(
        ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1",
         "-t", f"kv/{device}/up", "-s"],
        input=orjson.dumps(body),
        check=True,
        timeout=10,
    )  # fmt: skip


def latest_sample(vm: VictoriaMetrics, name: str, labels: dict[str, str]) -> float | None:
    found = [(ts, v) for n, lab, ts, v in vm.samples() if n == name and lab == labels]
    return max(found)[1] if found else None


def test_bed_sensor_readings_stay_out_of_influxdb(
    tmp_path: Path, mosquitto: Mosquitto, vm: VictoriaMetrics
) -> None:
    clock = ShiftedClock()
    settings = load_settings(
        data_dir=tmp_path / "data",
        admin_token=TOKEN,
        store="influxdb",
        influx_url=vm.url,
        influx_token="test-token",
        influx_flush_interval_ms=100,
        mqtt_url=mosquitto.url,
        mqtt_client_id=f"kv-care-{free_port()}",
    )
    platform = Platform(settings, clock=clock)
    try:
        reg = platform.registry
        reg.create_site(SiteCreate(id="vallmon", name="Vallmon"))
        reg.create_care_unit(CareUnitCreate(id="natt-1", name="Natt 1", site_id="vallmon"))
        now = clock()
        reg.create(
            DeviceCreate(
                id="shed-1", type="technical_shed_temperature", site_id="vallmon", place="Bod"
            ),
            now=now,
        )
        reg.create(DeviceCreate(id="bed-1", type="bed_sensor", care_unit_id="natt-1"), now=now)
        # a resident with sensor consent lies there: only then is in_bed kept at all
        with TestClient(
            create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            api = "/api/v1/supervision/residents"
            rid = client.post(api, json={"label": "Lgh 1, A.A.", "care_unit_id": "natt-1"})
            resident = rid.json()["id"]
            consent = {"party": "resident", "scope": ["sensor"], "given_on": "2026-11-01"}
            assert client.post(f"{api}/{resident}/consents", json=consent).status_code == 201
            bind = client.post(f"{api}/{resident}/sensors", json={"device_id": "bed-1"})
            assert bind.status_code == 201, bind.text
        platform.start(mqtt=True)
        wait_for(lambda: platform.mqtt is not None and platform.mqtt.connected.is_set())

        at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        pub(mosquitto, "shed-1", {"time": at.isoformat(), "values": {"temperature": 24.5}})
        pub(mosquitto, "bed-1", {"time": at.isoformat(), "values": {"in_bed": True}})

        shed = ("technical_shed_temperature_temperature", {
            "device": "shed-1", "type": "technical_shed_temperature", "site": "vallmon",
            "place": "Bod",
        })  # fmt: skip
        assert wait_for(lambda: latest_sample(vm, *shed), 20, 0.3, what="shed in VM") == 24.5
        wait_for(lambda: platform.care_readings.latest("bed-1"), 20, what="bed reading stored")
        spool = spool_of(platform.store)
        assert spool is not None
        assert spool.flush(10)
        # nothing of the bed sensor went to InfluxDB: not through the spool, not in the server
        assert spool.stats().sent == 1
        assert vm.export('{device="bed-1"}') == []
        assert not any(n.startswith("bed_sensor") for n, _l, _t, _v in vm.samples())
        # it is in care_readings.db, and only there
        with sqlite3.connect(f"file:{tmp_path / 'data' / CARE_FILE}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT device_id, metric, ts, num FROM readings").fetchall()
        assert rows == [("bed-1", "in_bed", to_ms(at) * 1000, 1.0)]
        assert not (tmp_path / "data" / "readings.db").exists()
        # the API still answers it (an admin: care devices are admin-only there)
        with TestClient(
            create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            latest = client.get("/api/v1/devices/bed-1/latest").json()
        assert [(v["metric"], v["value"]) for v in latest] == [("in_bed", True)]

        # Grafana's care panel: counts per care unit, written each minute
        clock.jump(timedelta(minutes=2))
        counts = "kommunvakt_care_devices_reporting", {"care_unit": "natt-1"}
        assert wait_for(lambda: latest_sample(vm, *counts), 20, 0.3, what="counts") == 1.0
        assert latest_sample(vm, "kommunvakt_care_devices_devices", {"care_unit": "natt-1"}) == 1
        assert vm.export('{device="bed-1"}') == []
    finally:
        platform.stop()
