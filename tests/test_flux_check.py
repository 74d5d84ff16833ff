"""Every Flux query the platform builds, checked by a real Flux implementation.

The Flux language server (flux-lsp 0.8.40, Flux 0.193, WebAssembly under Node) parses and
type-checks each query as the server would compile it, and any diagnostic fails the test:

- the reading store's reads with their parameters as influxdb-client sends them (the
  ``extern`` option statements, taken from the client's real request on loopback);
- every generated dashboard panel's query with Grafana's ``v`` record.

No InfluxDB 2 is needed; ``tests/test_influx_flux.py`` runs the same reads on a real one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboards.grafana import Site, build_dashboards
from dashboards.grafana.provisioning import dashboard_json
from dashboards.grafana.queries import (
    ALERTS_MEASUREMENT,
    CARE_DEVICES_MEASUREMENT,
    SUPERVISION_MEASUREMENT,
    flux_string,
)
from devices.catalogue import CATALOGUE
from devices.registry import DeviceInfo
from gateway.alert_counts import alert_count_lines, care_device_count_lines
from ingest.influx_store import READING_MEASUREMENTS, InfluxReadingStore
from ingest.line_protocol import SeriesTags, to_lines
from ingest.store import StoredReading
from supervision.counts import count_lines
from tests.support.flux_check import FluxDoc, check_flux, flux_checker_missing, grafana_v
from tests.support.influx_capture import captured_queries

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _checker() -> None:
    missing = flux_checker_missing()
    if missing:
        pytest.fail(missing)


def _clean(docs: list[FluxDoc]) -> None:
    checked = check_flux(docs)
    assert len(checked) == len(docs)
    bad = [c.report() for c in checked if c.diagnostics]
    assert not bad, "\n".join(bad)


def test_the_checker_finds_an_undefined_identifier_and_a_bad_string() -> None:
    old = "from(bucket: params.bucket)\n  |> range(start: params.start)\n  |> count()"
    checked = check_flux(
        [
            FluxDoc("params", old, None),
            FluxDoc("escape", 'from(bucket: "\\u00e4")\n  |> range(start: -1h)'),
            FluxDoc("fine", 'from(bucket: "ä")\n  |> range(start: -1h)'),
        ]
    )
    assert [d["message"] for d in checked[0].diagnostics] == ["undefined identifier params"] * 2
    assert checked[1].diagnostics
    assert checked[2].diagnostics == []


def store_queries() -> list[FluxDoc]:
    """Each read of the store, as influxdb-client sends it to the server."""
    tags = {"frys-å1": SeriesTags("freezer", "frys-å1", "freezer", 'kök "2"', "Frys")}
    with captured_queries() as (url, bodies):
        store = InfluxReadingStore(
            url, "token", "kommunvakt", "kommunvakt-ä", tags_for=tags.get, retention_days=30
        )
        calls = {
            "latest": lambda: store.latest("frys-å1"),
            "history": lambda: store.history(
                "frys-å1", "temperature", NOW - timedelta(days=1), NOW
            ),
            "count": store.count,
            "history_buckets": lambda: store.history_buckets(
                "frys-å1", "temperature", NOW - timedelta(days=30), NOW, 7200.0
            ),
            "history_buckets split": lambda: store.history_buckets(
                "frys-å1", "temperature", NOW - timedelta(days=30), NOW, 7200.0, split_gap_s=1500.0
            ),
        }
        names = []
        for name, call in calls.items():
            call()
            names.append(name)
        store.close()
    pairs = zip(names, bodies, strict=True)
    return [FluxDoc(f"store.{n}", b["query"], b["extern"]) for n, b in pairs]


def test_store_reads_check_clean_with_the_clients_parameters() -> None:
    docs = store_queries()
    assert all(d.extern and d.extern["body"] for d in docs), "parameters travel in extern"
    _clean(docs)


#: names a municipality may well use, and the characters Flux strings treat specially
AWKWARD = ["Björkängen", 'kök "2"', "a\\b", "${x}", "\\${x}", "$", "{x}", "rad 1\nrad 2\t", "🧊"]

SITES = [
    Site("skola-1", "Norrskolan"),
    Site("kök-ä", "Centralköket"),
    Site('hus "2" \\ ${x}', "Hus 2"),
]


def all_type_devices() -> list[DeviceInfo]:
    """One active device of every catalogue type, spread over the sites, and a retired one."""
    devices = []
    for i, (key, sensor) in enumerate(sorted(CATALOGUE.items())):
        site = SITES[i % len(SITES)].id
        unit = "natt-ö" if sensor.care else None
        devices.append(
            DeviceInfo(f"d{i}-{key}", key, key, site, f"plats {i}", "active",
                       sensor.expected_interval_s, unit)
        )  # fmt: skip
    devices.append(DeviceInfo("gammal", "freezer", "Gammal", "skola-1", "Förråd", "retired", 600))
    return devices


def dashboard_queries(bucket: str, devices: list[DeviceInfo] | None = None) -> list[FluxDoc]:
    registry = all_type_devices() if devices is None else devices
    docs = []
    for g in build_dashboards(SITES, registry, bucket=bucket, datasource_uid="ds"):
        for panel in dashboard_json(g)["panels"]:
            for target in panel.get("targets", []):
                name = f"{g.uid}/{panel['title']}/{target['refId']}"
                docs.append(FluxDoc(name, grafana_v(target["query"])))
    return docs


@pytest.mark.parametrize("bucket", ["kommunvakt", 'mätning ${x} "b" \\'])
def test_every_dashboard_panel_query_checks_clean(bucket: str) -> None:
    docs = dashboard_queries(bucket)
    assert len(docs) >= 10
    _clean(docs)


def test_the_dashboards_of_an_empty_registry_check_clean() -> None:
    docs = dashboard_queries("kommunvakt", [])
    assert docs
    _clean(docs)


def test_flux_strings_read_back_as_written() -> None:
    texts = [*AWKWARD, *(s.id for s in SITES)]
    docs = [FluxDoc(f"string {i}", f"x = {flux_string(t)}", ast=True) for i, t in enumerate(texts)]
    checked = check_flux(docs)
    assert [c.diagnostics for c in checked] == [[] for _ in texts]
    assert [c.ast["body"][0]["init"]["value"] for c in checked if c.ast] == texts


# -- every measurement, tag and field read is one the write path writes ---------------------

#: columns InfluxDB gives every row, and those Flux functions add
_BUILTIN_COLUMNS = {"_time", "_value", "_field", "_measurement", "_start", "_stop"}


def written_schema() -> dict[str, tuple[set[str], set[str]]]:
    """measurement -> (tag keys, field keys), from lines the writers produce: a reading of every
    metric of every technical sensor type and of an unregistered device, the open-alert,
    care-device and night-check counts."""
    lines = []
    for key, sensor in CATALOGUE.items():
        if sensor.care:
            continue
        tags = SeriesTags(key, f"dev-{key}", key, "site", "plats")
        readings = [StoredReading(f"dev-{key}", NOW, m, 1.0) for m in sensor.metrics]
        lines += to_lines(readings, lambda _id, t=tags: t)
    lines += to_lines([StoredReading("okänd", NOW, "temperature", 1.0)], lambda _id: None)
    lines += alert_count_lines([("skola-1", "active", "critical")], ["skola-1"], NOW)
    lines += care_device_count_lines(all_type_devices(), ["natt-ö"], {}, NOW)
    lines += count_lines({"natt-1": {"ok": 1}}, ["natt-1"], NOW)
    schema: dict[str, tuple[set[str], set[str]]] = {}
    for line in lines:
        head, fields, _ts = line.split(" ")
        measurement, *tag_pairs = head.split(",")
        tags_seen, fields_seen = schema.setdefault(measurement, (set(), set()))
        tags_seen.update(p.split("=")[0] for p in tag_pairs)
        fields_seen.update(f.split("=")[0] for f in fields.split(","))
    return schema


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _string(node: Any) -> str | None:
    if isinstance(node, dict) and node.get("type") == "StringLiteral":
        return str(node["value"])
    return None


def _member(node: Any) -> str | None:
    """``r.name`` (or ``l.name`` in a join) as ``name``."""
    member = isinstance(node, dict) and node.get("type") == "MemberExpression"
    if member and node["object"].get("name") in ("r", "l"):
        prop = node["property"]
        return str(prop.get("name") or prop.get("value"))
    return None


def schema_read(ast: dict[str, Any]) -> tuple[set[str], set[str], set[str], set[str]]:
    """(measurements, fields, columns read, columns the query makes itself) of a query."""
    measurements: set[str] = set()
    fields: set[str] = set()
    columns: set[str] = set()
    made: set[str] = set()
    for node in _walk(ast):
        kind = node.get("type")
        if kind == "BinaryExpression" and node.get("operator") == "==":
            column, value = _member(node["left"]), _string(node["right"])
            if column == "_measurement" and value is not None:
                measurements.add(value)
            if column == "_field" and value is not None:
                fields.add(value)
        elif kind == "MemberExpression" and (name := _member(node)):
            columns.add(name)
        elif kind == "Property":
            key = node["key"].get("name") or node["key"].get("value")
            value = node.get("value")
            if key in ("columns", "rowKey", "columnKey") and isinstance(value, dict):
                columns.update(s for e in value.get("elements", []) if (s := _string(e)))
            elif key in ("column", "valueColumn") and (s := _string(value)):
                columns.add(s)
            else:
                made.add(str(key))
    return measurements, fields, columns, made


def test_queries_read_only_measurements_tags_and_fields_we_write() -> None:
    schema = written_schema()
    all_tags = set().union(*(tags for tags, _ in schema.values()))
    docs = [FluxDoc(d.name, d.query, d.extern, ast=True) for d in store_queries()]
    docs += [FluxDoc(d.name, d.query, ast=True) for d in dashboard_queries("kommunvakt")]
    read_measurements: set[str] = set()
    for c in check_flux(docs):
        assert c.ast is not None
        measurements, fields, columns, made = schema_read(c.ast)
        read_measurements |= measurements
        assert measurements <= set(schema), (c.name, measurements - set(schema))
        for m in measurements:
            # a query over one measurement reads fields and tags that measurement has
            tags, written_fields = schema[m]
            if len(measurements) == 1:
                assert fields <= written_fields, (c.name, m, fields - written_fields)
                # pivot(columnKey: ["_field"]) makes a column of each field read
                unknown = columns - tags - _BUILTIN_COLUMNS - made - fields
                assert not unknown, (c.name, m, unknown)
        if not measurements:  # the store's reads: a device's series, any reading measurement
            assert columns - all_tags - _BUILTIN_COLUMNS - made == set(), c.name
    assert set(READING_MEASUREMENTS) <= set(schema), set(READING_MEASUREMENTS) - set(schema)
    assert {ALERTS_MEASUREMENT, CARE_DEVICES_MEASUREMENT, SUPERVISION_MEASUREMENT} <= (
        read_measurements
    )
