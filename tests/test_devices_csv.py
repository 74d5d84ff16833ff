"""CSV import/export: dry run with line numbers, all-or-nothing import, Swedish spreadsheets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.registry_api import BACKENDS, make_api

CSV_HEADERS = {"content-type": "text/csv"}


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    yield from make_api(request, tmp_path)


def _setup(client: Any) -> None:
    client.post("/api/v1/sites", json={"id": "skola-1", "name": "Skolan"})
    client.post("/api/v1/places", json={"id": "kok", "site_id": "skola-1", "name": "Kök"})
    client.post(
        "/api/v1/devices",
        json={"id": "old-1", "type": "water_leak", "refs": [{"source": "ttn", "ref": "EUI-OLD"}]},
    )


def _post(client: Any, text: bytes, dry_run: bool) -> Any:
    return client.post(
        "/api/v1/devices/import",
        params={"dry_run": str(dry_run).lower()},
        content=text,
        headers=CSV_HEADERS,
    )


SWEDISH = (
    "enhet;typ;namn;fastighet;plats-id;rum;referenser;intervall;anteckningar;status\r\n"
    "frys-1;freezer;Frys 1;;kok;;zigbee2mqtt:Frys kök;;vid diskbänken;active\r\n"
    "bod-3;technical_shed_temperature;Teknikbod 3;skola-1;;Apparatrum;chirpstack:A840;300;;\r\n"
    "\r\n"
    'lack-1;water_leak;"Läcka; diskrum";skola-1;;;;;;maintenance\r\n'
)


def test_swedish_excel_file_in_windows_1252_with_semicolons(api: tuple[Any, Any]) -> None:
    client, platform = api
    _setup(client)
    data = SWEDISH.encode("cp1252")
    dry = _post(client, data, dry_run=True).json()
    assert (dry["rows"], dry["valid"], dry["errors"], dry["imported"]) == (3, 3, [], 0)
    assert client.get("/api/v1/devices").json()["total"] == 1  # a dry run writes nothing
    real = _post(client, data, dry_run=False)
    assert real.status_code == 200, real.text
    assert real.json()["imported"] == 3
    frys = client.get("/api/v1/devices/frys-1").json()
    assert (frys["site_id"], frys["place"], frys["notes"]) == ("skola-1", "Kök", "vid diskbänken")
    assert platform.registry.lookup("Frys kök").id == "frys-1"  # the gateway knows it at once
    assert client.get("/api/v1/devices/lack-1").json()["name"] == "Läcka; diskrum"
    assert client.get("/api/v1/devices/lack-1").json()["state"] == "maintenance"
    assert client.get("/api/v1/devices/bod-3").json()["expected_interval_s"] == 300


def test_dry_run_reports_every_bad_row_and_import_is_all_or_nothing(
    api: tuple[Any, Any],
) -> None:
    client, _ = api
    _setup(client)
    text = (
        "\ufeffid,type,site_id,place_id,refs,state,expected_interval_s\n"  # UTF-8 BOM, commas
        "ok-1,water_leak,skola-1,,,,\n"  # line 2: fine
        "old-1,water_leak,,,,,\n"  # 3: exists already
        "x-2,toaster,,,,,\n"  # 4: unknown type
        "x-3,water_leak,nowhere,,,,\n"  # 5: unknown site
        "x-4,water_leak,,gone,,,\n"  # 6: unknown place
        "x-5,water_leak,,,ttn:EUI-OLD,,\n"  # 7: ref taken
        "ok-1,water_leak,,,,,\n"  # 8: duplicate id in the file
        "x-7,water_leak,,,,broken,\n"  # 9: bad state
        "x 8,water_leak,,,,,\n"  # 10: bad id
        "x-9,water_leak,,,,,-5\n"  # 11: bad interval
        "x-10,water_leak,,,,,,extra\n"  # 12: too many values
    ).encode()
    dry = _post(client, text, dry_run=True).json()
    lines = {e["line"]: e["reason"] for e in dry["errors"]}
    assert sorted(lines) == list(range(3, 13))
    assert "exists already" in lines[3]
    assert "toaster" in lines[4]
    assert "site 'nowhere'" in lines[5]
    assert "place 'gone'" in lines[6]
    assert "belongs to device 'old-1'" in lines[7]
    assert "also on line 2" in lines[8]
    assert "broken" in lines[9]
    assert "id" in lines[10]
    assert "expected_interval_s" in lines[11]
    assert "more values" in lines[12]
    assert (dry["rows"], dry["valid"]) == (11, 1)
    real = _post(client, text, dry_run=False)
    assert real.status_code == 422
    assert len(real.json()["detail"]["errors"]) == 10
    assert client.get("/api/v1/devices").json()["total"] == 1  # nothing at all was imported


BAD_HEADERS = [
    (b"", "empty"),
    (b"id;colour\nx;red\n", "unknown column"),
    (b"name;type\nx;water_leak\n", "'id' is missing"),
]


def test_bad_headers(api: tuple[Any, Any]) -> None:
    client, _ = api
    for text, reason in BAD_HEADERS:
        dry = _post(client, text, dry_run=True).json()
        assert dry["errors"][0]["line"] == 1, text
        assert reason in dry["errors"][0]["reason"], text


def test_export_round_trips_through_import(api: tuple[Any, Any]) -> None:
    client, _ = api
    _setup(client)
    _post(client, SWEDISH.encode("utf-8"), dry_run=False)
    exported = client.get("/api/v1/devices/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    body = exported.content
    assert body.startswith(b"\xef\xbb\xbfid;type;name;site_id;place_id")
    text = body.decode("utf-8-sig")
    assert "Läcka; diskrum" in text  # quoted, not split
    assert ";chirpstack:A840;300;" in text  # an explicit interval is kept ...
    assert ";zigbee2mqtt:Frys kök;;" in text  # ... the type's default left blank
    ids = [line.split(";")[0] for line in body.decode("utf-8-sig").splitlines()[1:]]
    assert ids == ["bod-3", "frys-1", "lack-1", "old-1"]
    # the export reads back as an import: every row parses, each one is a known device
    again = _post(client, body, dry_run=True).json()
    assert [e["line"] for e in again["errors"]] == [2, 3, 4, 5]
    assert all("exists already" in e["reason"] for e in again["errors"])


@pytest.mark.slow
def test_ten_thousand_rows_well_under_a_minute(api: tuple[Any, Any]) -> None:
    client, platform = api
    _setup(client)
    rows = ["id;type;site_id;place;refs"]
    rows += [
        f"dev-{i:05d};room_climate;skola-1;Rum {i % 300};chirpstack:EUI{i:012X}"
        for i in range(10_000)
    ]
    data = ("\n".join(rows) + "\n").encode()
    started = time.perf_counter()
    dry = _post(client, data, dry_run=True).json()
    dry_s = time.perf_counter() - started
    assert dry["valid"] == 10_000
    started = time.perf_counter()
    real = _post(client, data, dry_run=False).json()
    import_s = time.perf_counter() - started
    assert real["imported"] == 10_000
    print(f"10,000 rows: dry run {dry_s:.2f} s, import {import_s:.2f} s")
    assert dry_s < 20
    assert import_s < 20
    assert platform.registry.lookup("EUI00000000270F").id == "dev-09999"
    assert client.get("/api/v1/devices", params={"limit": 1}).json()["total"] == 10_001
