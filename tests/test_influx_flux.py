"""Against a real InfluxDB 2: bucket setup with retention, Flux reads, the dashboards' Flux.

Runs where INFLUXDB_URL and INFLUXDB_TOKEN name a reachable InfluxDB 2 (the CI workflow's
service container; `docker compose up influxdb` locally); skipped elsewhere. The same Flux
is parsed and type-checked everywhere by ``tests/test_flux_check.py``. Each test uses a
bucket of its own and deletes it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboards.grafana import Site, build_dashboards
from dashboards.grafana.provisioning import DATASOURCE_UID, dashboard_json
from devices.registry import DeviceInfo
from gateway.alert_counts import alert_count_lines, care_device_count_lines
from ingest.influx_store import InfluxReadingStore
from ingest.line_protocol import SeriesTags
from ingest.spool import SpooledStore
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import StoredReading
from supervision.counts import count_lines
from tests.support.flux_check import grafana_v

pytestmark = pytest.mark.influxdb

URL = os.environ.get("INFLUXDB_URL")
TOKEN = os.environ.get("INFLUXDB_TOKEN")
ORG = os.environ.get("INFLUXDB_ORG", "kommunvakt")

DEVICES = [
    DeviceInfo("shed-1", "technical_shed_temperature", "Bod", "skola-1", "Bod A", "active", 600),
    DeviceInfo("frys-1", "freezer", "Frys", "skola-1", "Kök", "active", 600),
    DeviceInfo("leak-1", "water_leak", "Läcka", "skola-1", "Pannrum", "active", 3600),
    DeviceInfo("bed-1", "bed_sensor", "Säng", "enhet-3", None, "active", 300, "natt-3"),
    DeviceInfo("tyst-1", "water_leak", "Tyst", "skola-1", "Källare", "active", 3600),
    DeviceInfo("gammal-1", "freezer", "Gammal", "skola-1", "Förråd", "retired", 600),
]
TAGS = {d.id: SeriesTags(d.type, d.id, d.type, d.site_id, d.place) for d in DEVICES}


@pytest.fixture
def bucket() -> Iterator[str]:
    if not URL or not TOKEN:
        pytest.skip(
            "no InfluxDB 2 here: set INFLUXDB_URL and INFLUXDB_TOKEN (the CI workflow does)"
        )
    from influxdb_client import InfluxDBClient

    name = f"kv-test-{uuid.uuid4().hex[:12]}"
    yield name
    with InfluxDBClient(url=URL, token=TOKEN, org=ORG) as client:
        api = client.buckets_api()
        found = api.find_bucket_by_name(name)
        if found is not None:
            api.delete_bucket(found)


def store(bucket: str, retention_days: int = 30) -> InfluxReadingStore:
    assert URL
    assert TOKEN
    return InfluxReadingStore(
        URL, TOKEN, ORG, bucket, tags_for=TAGS.get, retention_days=retention_days
    )


def test_missing_bucket_is_created_with_its_retention(bucket: str) -> None:
    from influxdb_client import InfluxDBClient

    s = store(bucket, retention_days=7)
    s.write([StoredReading("shed-1", datetime.now(UTC), "temperature", 21.0, "Cel")])
    s.close()
    with InfluxDBClient(url=URL or "", token=TOKEN, org=ORG) as client:
        found = client.buckets_api().find_bucket_by_name(bucket)
    assert found is not None
    assert [r.every_seconds for r in found.retention_rules] == [7 * 86_400]


def test_latest_history_and_count_in_flux(bucket: str) -> None:
    s = store(bucket)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    rows = [
        StoredReading("shed-1", t0 + timedelta(minutes=i), "temperature", 20.0 + i, "Cel")
        for i in range(10)
    ]
    rows += [
        StoredReading("frys-1", t0, "temperature", -19.5, "Cel"),
        StoredReading("frys-1", t0, "door_open", False),
        StoredReading("frys-1", t0 + timedelta(minutes=5), "door_open", True),
    ]
    s.write(rows)
    s.write(rows[:3])  # the same readings again: stored once
    # the platform's gauges share the bucket; they are not readings
    s.write_lines(alert_count_lines([("skola-1", "active", "critical")], ["skola-1"], t0))
    s.write_lines(care_device_count_lines(DEVICES, ["natt-3"], {}, t0))
    s.write_lines(count_lines({"natt-3": {"ok": 2}}, ["natt-3"], t0))
    got = s.history("shed-1", "temperature", t0 + timedelta(minutes=2), t0 + timedelta(minutes=5))
    assert [(r.time, r.value, r.unit) for r in got] == [
        (t0 + timedelta(minutes=i), 20.0 + i, "Cel") for i in (2, 3, 4)
    ]
    latest = s.latest("frys-1")
    assert [(v.metric, v.value, v.unit) for v in latest] == [
        ("door_open", True, None),
        ("temperature", -19.5, "Cel"),
    ]
    assert latest[0].time == t0 + timedelta(minutes=5)
    assert s.count() == 13
    s.close()


def test_spool_over_real_influxdb(bucket: str, tmp_path: Any) -> None:
    spool = SpooledStore(store(bucket), tmp_path / "spool.db", batch_size=100, flush_interval=0.1)
    now = datetime.now(UTC).replace(microsecond=0)
    spool.write([StoredReading("leak-1", now, "water_leak", True)])
    assert spool.flush(20)
    assert [(v.metric, v.value) for v in spool.backend.latest("leak-1")] == [("water_leak", True)]
    spool.close()


def test_every_generated_dashboard_query_runs(bucket: str) -> None:
    """The dashboards' Flux runs on InfluxDB, as Grafana sends it, and finds our series."""
    s = store(bucket)
    now = datetime.now(UTC).replace(microsecond=0)
    s.write(
        [
            StoredReading("shed-1", now - timedelta(minutes=1), "temperature", 26.0, "Cel"),
            StoredReading("shed-1", now - timedelta(minutes=1), "battery", 80.0, "%EL"),
            StoredReading("frys-1", now - timedelta(minutes=1), "door_open", True),
            StoredReading("leak-1", now - timedelta(minutes=1), "water_leak", False),
            # retired ten days ago: its old readings must not count as an offline device
            StoredReading("gammal-1", now - timedelta(days=10), "temperature", -20.0, "Cel"),
        ]
    )  # no bed-1 reading: care readings never reach InfluxDB, only counts do
    s.write_lines(alert_count_lines([("skola-1", "active", "critical")], ["skola-1"], now))
    seen = {"bed-1": now - timedelta(minutes=1)}
    s.write_lines(care_device_count_lines(DEVICES, ["natt-3", "natt-4"], seen, now))
    s.write_lines(count_lines({"natt-3": {"ok": 2, "missed": 1}}, ["natt-3"], now))
    query_api = s._client.query_api()
    sites = [Site("skola-1", "Norrskolan"), Site("enhet-3", "Björken")]
    results: dict[str, list[Any]] = {}
    for g in build_dashboards(sites, DEVICES, bucket=bucket, datasource_uid=DATASOURCE_UID):
        for panel in dashboard_json(g)["panels"]:
            for target in panel["targets"]:
                flux = grafana_v(target["query"], (now - timedelta(hours=1), now))
                tables = query_api.query(flux, org=ORG)
                results[f"{g.uid}/{panel['title']}"] = [r.values for t in tables for r in t.records]
    shed = results["kv-site-skola-1/Teknikbodar: temperatur"]
    assert [(r["device"], r["_value"]) for r in shed] == [("shed-1", 26.0)]
    assert [r["_value"] for r in results["kv-site-skola-1/Frysdörrar"]] == [1]
    assert [r["_value"] for r in results["kv-site-skola-1/Vattenläckage"]] == [0]
    care = results["kv-alerts/Omsorgsenheter: sensorer som rapporterar (endast antal)"]
    assert sorted((r["care_unit"], r["reporting"], r["devices"]) for r in care) == [
        ("natt-3", 1, 1),
        ("natt-4", 0, 0),
    ]
    assert "device" not in care[0]
    checks = results["kv-alerts/Nattillsyn: kontroller per omsorgsenhet och status (endast antal)"]
    assert [(r["care_unit"], r["ok"], r["missed"], r["escalated"]) for r in checks] == [
        ("natt-3", 2, 1, 0)
    ]
    alerts = results["kv-site-skola-1/Öppna larm på platsen"]
    assert sorted((r["state"], r["severity"], r["_value"]) for r in alerts) == [
        ("acknowledged", "critical", 0),
        ("acknowledged", "warning", 0),
        ("active", "critical", 1),
        ("active", "warning", 0),
    ]
    # tyst-1 has never been heard: offline; gammal-1 is retired: not there at all
    assert [r["_value"] for r in results["kv-device-health/Tysta enheter"]] == [1]
    seen_rows = {r["device"]: r for r in results["kv-device-health/Senast hörd"]}
    assert set(seen_rows) == {"shed-1", "frys-1", "leak-1", "tyst-1"}
    assert [d for d, r in seen_rows.items() if r["offline"]] == ["tyst-1"]
    assert seen_rows["tyst-1"]["age_s"] == -1
    assert 0 <= seen_rows["shed-1"]["age_s"] < 600
    s.close()


def _readings(t0: datetime) -> list[StoredReading]:
    """A minute sensor over two days with a silence of three hours, a freezer's door, and an
    hourly leak sensor; values repeat so that minima and maxima have ties."""
    rows = []
    for i in range(2 * 24 * 60):
        if 600 <= i < 780:  # three hours without a reading
            continue
        when = t0 + timedelta(minutes=i)
        rows.append(StoredReading("shed-1", when, "temperature", float((i * 7) % 13), "Cel"))
        rows.append(StoredReading("shed-1", when, "battery", 80.0 - i / 1000, "%EL"))
    for i in range(0, 48 * 60, 90):
        rows.append(StoredReading("frys-1", t0 + timedelta(minutes=i), "door_open", i % 180 == 0))
    for i in range(48):
        rows.append(StoredReading("leak-1", t0 + timedelta(hours=i), "water_leak", i == 30))
    return rows


def test_influx_and_sqlite_stores_answer_alike(bucket: str, tmp_path: Any) -> None:
    """The same readings in both stores: latest, history, count and the min/max buckets the
    charts read (``BucketedHistory``) are the same."""
    influx, sqlite = store(bucket), SqliteReadingStore(tmp_path / "readings.db")
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    rows = _readings(t0)
    for s in (influx, sqlite):
        for i in range(0, len(rows), 2000):
            s.write(rows[i : i + 2000])
    assert influx.count() == sqlite.count() == len(rows)
    for device in ("shed-1", "frys-1", "leak-1"):
        assert influx.latest(device) == sqlite.latest(device), device
    start, end = t0 + timedelta(hours=5), t0 + timedelta(days=1, hours=7)
    for device, metric in [("shed-1", "temperature"), ("frys-1", "door_open")]:
        assert influx.history(device, metric, start, end) == sqlite.history(
            device, metric, start, end
        ), (device, metric)
    for bucket_s, gap in [(3600.0, None), (1800.0, 150.0), (86400 / 360, 150.0)]:
        got = influx.history_buckets("shed-1", "temperature", start, end, bucket_s, gap)
        want = sqlite.history_buckets("shed-1", "temperature", start, end, bucket_s, gap)
        assert len(got) > 10
        assert got == want, (bucket_s, gap)
    # a metric without numbers has no buckets in either store: the chart reads it raw
    assert influx.history_buckets("frys-1", "door_open", start, end, 3600.0) == []
    assert sqlite.history_buckets("frys-1", "door_open", start, end, 3600.0) == []
    influx.close()
    sqlite.close()
