"""Every Flux query the platform builds, checked by a real Flux implementation.

The Flux language server (flux-lsp 0.8.40, Flux 0.193, WebAssembly under Node) parses and
type-checks each query as the server would compile it, and any diagnostic fails the test:

- the reading store's reads with their parameters as influxdb-client sends them (the
  ``extern`` option statements, taken from the client's real request on loopback);
- every generated dashboard panel's query with Grafana's ``v`` record.

No InfluxDB 2 is needed; ``tests/test_influx_flux.py`` runs the same reads on a real one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.grafana import Site, build_dashboards
from dashboards.grafana.provisioning import dashboard_json
from dashboards.grafana.queries import flux_string
from devices.catalogue import CATALOGUE
from devices.registry import DeviceInfo
from ingest.influx_store import InfluxReadingStore
from ingest.line_protocol import SeriesTags
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


def dashboard_queries(bucket: str) -> list[FluxDoc]:
    docs = []
    for g in build_dashboards(SITES, all_type_devices(), bucket=bucket, datasource_uid="ds"):
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


def test_flux_strings_read_back_as_written() -> None:
    texts = [*AWKWARD, *(s.id for s in SITES)]
    docs = [FluxDoc(f"string {i}", f"x = {flux_string(t)}", ast=True) for i, t in enumerate(texts)]
    checked = check_flux(docs)
    assert [c.diagnostics for c in checked] == [[] for _ in texts]
    assert [c.ast["body"][0]["init"]["value"] for c in checked if c.ast] == texts
