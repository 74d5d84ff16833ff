"""The daily temperature record's figures on a synthetic month with a 25-hour DST day."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dashboards.daily_record import day_records, local_days, parse_month
from tests.support.record_month import ALERT, DOORS, EXPECTED, NOW, TEMPS


@dataclass(frozen=True)
class _Alert:
    id: int
    rule: str
    severity: str
    state: str
    started_at: datetime
    resolved_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


def _rows() -> dict[str, object]:
    alert = _Alert(
        7,
        "freezer_too_warm",
        "critical",
        "resolved",
        ALERT["started"],
        ALERT["resolved"],
        ALERT["by"],
        ALERT["acked"],
    )
    rows = day_records(
        [(t.timestamp(), v) for t, v in TEMPS],
        [(t.timestamp(), v) for t, v in DOORS],
        [alert],
        2026,
        10,
        limit=-18.0,
        max_hold=1500,
        now=NOW,
    )
    return {r.day.isoformat(): r for r in rows}


def test_month_has_31_local_days_and_the_dst_day_has_25_hours() -> None:
    rows = _rows()
    assert len(rows) == 31
    assert [d for d, r in rows.items() if r.hours != 24] == ["2026-10-25"]


@pytest.mark.parametrize("day", sorted(EXPECTED))
def test_figures_match_hand_computed_values(day: str) -> None:
    hours, n, lo, hi, mean, above, door = EXPECTED[day]
    r = _rows()[day]
    assert (r.hours, r.readings, r.min, r.max) == (hours, n, lo, hi)
    assert r.mean == pytest.approx(mean)
    assert r.above_limit_min == pytest.approx(above)
    assert r.door_open_min == pytest.approx(door)


def test_alert_is_listed_on_its_day_with_who_acknowledged_it() -> None:
    rows = _rows()
    with_alerts = {d: r.alerts for d, r in rows.items() if r.alerts}
    assert list(with_alerts) == ["2026-10-12"]
    (note,) = with_alerts["2026-10-12"]
    assert (note.id, note.acknowledged_by) == (7, "Anna i köket")


def test_days_after_now_are_left_out_and_a_missing_door_is_none() -> None:
    rows = day_records(
        [],
        None,
        [],
        2026,
        10,
        limit=-18,
        max_hold=1500,
        now=datetime(2026, 10, 3, 12, tzinfo=UTC),
    )
    assert [r.day for r in rows] == [date(2026, 10, d) for d in (1, 2, 3)]
    assert rows[0].door_open_min is None
    assert rows[0].mean is None


def test_spring_dst_day_is_23_hours_and_months_parse() -> None:
    hours = {d.isoformat(): (b - a) / 3600 for d, a, b in local_days(2026, 3)}
    assert hours["2026-03-29"] == 23
    assert sum(hours.values()) == 31 * 24 - 1
    assert parse_month("2026-10") == (2026, 10)
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month("oktober")


def test_pdf_without_dejavu_falls_back_to_latin1_helvetica(tmp_path: Path) -> None:
    from dashboards.daily_record import DeviceRecord, SiteRecord
    from dashboards.record_export import record_pdf

    rows = tuple(_rows().values())  # type: ignore[arg-type]
    record = SiteRecord(
        "s",
        "Ängsgårdens kök",
        "2026-10",
        NOW,
        (DeviceRecord("k", "Kyl 2", "Förråd", "fridge", 8.0, rows),),  # type: ignore[arg-type]
    )
    pdf = tmp_path / "core.pdf"
    pdf.write_bytes(record_pdf(record, font_dir=tmp_path / "no-fonts-here"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Temperaturlogg (egenkontroll) - Ängsgårdens kök - oktober 2026" in text
    assert "Kyl: Kyl 2, Förråd (gräns 8,0 °C)" in text
    assert "Helvetica" in pdf.read_bytes().decode("latin-1")


def _sparse_month() -> list[object]:
    """A fridge installed on 3 October at noon, silent on the 5th, 12 seconds warm on the 4th."""
    noon3 = datetime(2026, 10, 3, 10, 0, tzinfo=UTC)
    temps = [(noon3.timestamp() + i * 600, 4.0) for i in range(0, 6 * 36)]  # until the 4th
    warm = datetime(2026, 10, 4, 8, 0, tzinfo=UTC).timestamp()
    temps = [(t, v) for t, v in temps if t < warm] + [(warm, 9.0), (warm + 12, 4.0)]
    temps += [(warm + 12 + i * 600, 4.0) for i in range(1, 40)]
    rows = day_records(
        sorted(temps),
        None,
        [],
        2026,
        10,
        limit=8.0,
        max_hold=1500,
        now=datetime(2026, 10, 6, 12, tzinfo=UTC),
    )
    return list(rows)


def test_a_day_without_readings_is_no_data_not_zero_minutes_above() -> None:
    rows = {r.day.day: r for r in _sparse_month()}  # type: ignore[attr-defined]
    # before the sensor existed, and a silent day: nothing is known, so nothing is claimed
    for day in (1, 2, 6):
        assert (rows[day].above_limit_min, rows[day].covered_min) == (None, 0), day
    # the first day: half a day of data (from 12:00 local), within the limit
    assert rows[3].above_limit_min == 0
    assert rows[3].covered_min == pytest.approx(12 * 60)
    assert rows[4].above_limit_min == pytest.approx(0.2)


def test_pdf_says_no_data_and_never_zero_with_a_mark(tmp_path: Path) -> None:
    from dashboards.daily_record import DeviceRecord, SiteRecord
    from dashboards.record_export import record_pdf, record_text

    rows = tuple(_sparse_month())
    record = SiteRecord(
        "s", "Köket", "2026-10", NOW,
        (DeviceRecord("k", "Kyl 2", None, "fridge", 8.0, rows),),  # type: ignore[arg-type]
    )  # fmt: skip
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(record_pdf(record))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("2026-10-")}
    assert "ingen data" in lines["2026-10-01"]
    assert "<1 !" in lines["2026-10-04"]
    assert "0 !" not in text
    summary = record_text(record)
    assert "2026-10-01: ingen data" in summary
