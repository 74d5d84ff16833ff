"""Generated Grafana dashboards: they round-trip through the SDK's models, read only the
measurements and fields we write, keep care devices to counts, and export as provisioning."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel

from dashboards.grafana import FluxQuery, Site, build_dashboards
from dashboards.grafana.provisioning import (
    DATASOURCE_UID,
    dashboard_json,
    datasource_yaml,
    provider_yaml,
)
from dashboards.grafana.queries import ALERTS_MEASUREMENT, CARE_DEVICES_MEASUREMENT
from devices.catalogue import CATALOGUE
from devices.registry import DeviceInfo
from gateway.alert_counts import alert_count_lines, care_device_count_lines
from ingest.line_protocol import SeriesTags, to_lines
from ingest.store import StoredReading
from supervision.counts import count_lines

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

SITES = [Site("skola-1", "Norrskolan"), Site("kok-1", "Centralköket"), Site("enhet-3", "Björken")]
DEVICES = [
    DeviceInfo("shed-1", "technical_shed_temperature", "Bod", "skola-1", "Bod A", "active", 600),
    DeviceInfo("leak-1", "water_leak", "Läcka", "skola-1", "Pannrum", "active", 3600),
    DeviceInfo("frys-1", "freezer", "Frys", "kok-1", "Kök, frys 2", "active", 600),
    DeviceInfo("bed-anna", "bed_sensor", "Säng", "enhet-3", "Rum 12 Anna", "active", 300),
    DeviceInfo("old-1", "freezer", "Gammal", "enhet-3", "Förråd", "retired", 600),
]  # fmt: skip


def generate() -> list[Any]:
    return build_dashboards(SITES, DEVICES, bucket="kommunvakt", datasource_uid=DATASOURCE_UID)


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model.get("panels", []) if p.get("type") != "row"]


def queries(model: dict[str, Any]) -> list[str]:
    return [t["query"] for p in panels(model) for t in p.get("targets", [])]


def written_fields() -> set[tuple[str, str]]:
    """(measurement, field) pairs our writers produce: one reading of every metric of every
    non-care catalogue type through the line-protocol writer (care readings never reach
    InfluxDB), and the alert, care-device and night-check count lines."""
    lines = []
    for key, sensor in CATALOGUE.items():
        if sensor.care:
            continue
        tags = SeriesTags(key, f"dev-{key}", key, "site", None)
        readings = [StoredReading(f"dev-{key}", NOW, m, 1.0) for m in sensor.metrics]
        lines += to_lines(readings, lambda _id, t=tags: t)
    lines += alert_count_lines([("skola-1", "active", "critical")], ["skola-1"], NOW)
    lines += care_device_count_lines(DEVICES, ["enhet-3"], {}, NOW)
    lines += count_lines({"natt-1": {"ok": 1}}, ["natt-1"], NOW)
    pairs = set()
    for line in lines:
        head, fields, _ts = line.split(" ")
        for field in fields.split(","):
            pairs.add((head.split(",")[0], field.split("=")[0]))
    return pairs


def test_every_dashboard_round_trips_through_the_sdk_models() -> None:
    for g in generate():
        first = dashboard_json(g)
        decoded = Dashboard.from_json(json.loads(json.dumps(first)))
        again = json.loads(json.dumps(decoded, cls=JSONEncoder))
        assert again == first, g.uid
        targets = [t for p in decoded.panels or [] if isinstance(p, Panel) for t in p.targets or []]
        assert targets, g.uid
        assert all(isinstance(t, FluxQuery) for t in targets), "targets decode as Flux queries"
        assert all(t.datasource and t.datasource.uid == DATASOURCE_UID for t in targets)


def test_dashboards_read_only_measurements_and_fields_we_write() -> None:
    written = written_fields()
    referenced = set()
    for g in generate():
        for query in queries(dashboard_json(g)):
            measurements = re.findall(r'r\._measurement == "([^"]+)"', query)
            fields = re.findall(r'r\._field == "([^"]+)"', query)
            assert measurements, query
            for m in measurements:
                for f in fields or [None]:
                    if f is None:  # a query over whole measurements (last seen)
                        assert any(w[0] == m for w in written), m
                    else:
                        referenced.add((m, f))
    assert referenced <= written, referenced - written
    assert ("technical_shed_temperature", "temperature") in referenced
    assert ("freezer", "door_open") in referenced
    assert ("water_leak", "water_leak") in referenced
    assert (ALERTS_MEASUREMENT, "open") in referenced
    assert (CARE_DEVICES_MEASUREMENT, "reporting") in referenced


def test_site_overview_has_thresholds_and_only_its_own_sensors() -> None:
    by_uid = {g.uid: dashboard_json(g) for g in generate()}
    # a site with only care devices (and a retired freezer) gets no overview of its own
    assert set(by_uid) == {"kv-site-kok-1", "kv-site-skola-1", "kv-device-health", "kv-alerts"}
    school = by_uid["kv-site-skola-1"]
    titles = [p["title"] for p in panels(school)]
    assert titles == ["Teknikbodar: temperatur", "Vattenläckage", "Öppna larm på platsen"]
    shed = panels(school)[0]
    steps = [
        (s["value"], s["color"]) for s in shed["fieldConfig"]["defaults"]["thresholds"]["steps"]
    ]
    assert steps == [(None, "green"), (25.0, "orange"), (30.0, "red")]
    assert all('r.site == "skola-1"' in q for q in queries(school))
    kitchen = [p["title"] for p in panels(by_uid["kv-site-kok-1"])]
    assert kitchen == ["Frysar: temperatur", "Frysdörrar", "Öppna larm på platsen"]
    freezer = panels(by_uid["kv-site-kok-1"])[0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert freezer[-1] == {"value": -18.0, "color": "red"}


def test_care_devices_appear_only_as_counts() -> None:
    text = json.dumps([dashboard_json(g) for g in generate()], ensure_ascii=False)
    assert "bed-anna" not in text
    assert "Anna" not in text
    care_types = [k for k, t in CATALOGUE.items() if t.care]
    care_queries = []
    for g in generate():
        for query in queries(dashboard_json(g)):
            # care readings are not in InfluxDB: no query names a care type
            assert not any(f'"{k}"' in query for k in care_types), query
            if CARE_DEVICES_MEASUREMENT in query:
                care_queries.append((g.uid, query))
    # one panel shows care units, from the counts the platform writes per care unit
    assert [uid for uid, _q in care_queries] == ["kv-alerts"]
    assert 'group(columns: ["care_unit"])' in care_queries[0][1]


def test_care_device_counts_per_care_unit() -> None:
    devices = [
        DeviceInfo("bed-1", "bed_sensor", "Säng", None, "Rum 1", "active", 300, "natt-1"),
        DeviceInfo("bed-2", "bed_sensor", "Säng", None, "Rum 2", "active", 300, "natt-1"),
        DeviceInfo("larm-1", "safety_alarm", "Larm", None, None, "active", 300, "natt-1"),
        DeviceInfo("bed-3", "bed_sensor", "Säng", None, None, "retired", 300, "natt-1"),
        DeviceInfo("bed-4", "bed_sensor", "Säng", None, None, "active", 300),
        DeviceInfo("shed-1", "technical_shed_temperature", "Bod", "s", None, "active", 600),
    ]
    seen = {"bed-1": NOW, "bed-2": NOW.replace(hour=7), "larm-1": NOW, "shed-1": NOW}
    lines = care_device_count_lines(devices, ["natt-1", "natt-2"], seen, NOW)
    ms = int(NOW.timestamp() * 1000)
    assert lines == [
        f"{CARE_DEVICES_MEASUREMENT},care_unit=- devices=1i,reporting=0i {ms}",
        f"{CARE_DEVICES_MEASUREMENT},care_unit=natt-1 devices=3i,reporting=2i {ms}",
        f"{CARE_DEVICES_MEASUREMENT},care_unit=natt-2 devices=0i,reporting=0i {ms}",
    ]
    assert not any("bed-" in line or "Rum" in line for line in lines)


def test_export_cli_writes_provisioning_from_the_registry(tmp_path: Path, platform: Any) -> None:
    from devices.schemas import DeviceCreate, SiteCreate

    platform.registry.create_site(SiteCreate(id="skola-1", name="Norrskolan"))
    platform.registry.create(
        DeviceCreate(id="shed-9", type="technical_shed_temperature", name="Bod", site_id="skola-1"),
        now=NOW,
    )
    out = tmp_path / "provisioning"
    env = {**os.environ, "KOMMUNVAKT_DATA_DIR": str(platform.settings.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "dashboards", "export", str(out)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ds = yaml.safe_load((out / "datasources" / "kommunvakt.yaml").read_text())
    assert ds["datasources"][0]["uid"] == DATASOURCE_UID
    assert ds["datasources"][0]["jsonData"]["version"] == "Flux"
    provider = yaml.safe_load((out / "dashboards" / "kommunvakt.yaml").read_text())
    assert provider["providers"][0]["type"] == "file"
    files = sorted(p.name for p in (out / "dashboards" / "json").iterdir())
    assert files == ["kv-alerts.json", "kv-device-health.json", "kv-site-skola-1.json"]
    site = json.loads((out / "dashboards" / "json" / "kv-site-skola-1.json").read_text())
    assert Dashboard.from_json(site).title == "Norrskolan: översikt"


def test_committed_grafana_provisioning_matches_the_generator() -> None:
    base = ROOT / "deploy" / "grafana" / "provisioning"
    ds = yaml.safe_load((base / "datasources" / "kommunvakt.yaml").read_text())
    assert ds == datasource_yaml("http://influxdb:8086", "${INFLUX_ORG}", "${INFLUX_BUCKET}")
    provider = yaml.safe_load((base / "dashboards" / "kommunvakt.yaml").read_text())
    assert provider == provider_yaml()


@pytest.mark.grafana
def test_push_is_idempotent_against_a_real_grafana() -> None:
    url, token = os.environ.get("GRAFANA_URL"), os.environ.get("GRAFANA_TOKEN")
    if not url or not token:
        pytest.skip("no Grafana here: set GRAFANA_URL and GRAFANA_TOKEN (the CI workflow does)")
    from dashboards.grafana.api import GrafanaApi
    from dashboards.grafana.provisioning import push

    api = GrafanaApi(url, token)
    generated = generate()
    push(api, generated)
    second = push(api, generated)
    assert {r.action for r in second} == {"unchanged"}
    stored = api.get_dashboard("kv-site-skola-1")
    assert stored is not None
    assert stored["meta"]["folderUid"] == "kommunvakt"
    assert stored["dashboard"]["title"] == "Norrskolan: översikt"
    version = stored["dashboard"]["version"]
    push(api, generated)
    again = api.get_dashboard("kv-site-skola-1")
    assert again is not None
    assert again["dashboard"]["version"] == version
    assert api.get_dashboard("kv-no-such-dashboard") is None
    api.close()
