"""The daily record and history over HTTP against the real SQLite stores; the PDF through
poppler's pdftoppm/pdftotext."""

from __future__ import annotations

import base64
import csv
import http.server
import io
import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.store import StoredReading
from tests.support.net import free_port, wait_for
from tests.support.platform import TOKEN
from tests.support.record_month import ALERT, DOORS, EXPECTED, NOW, TEMPS


@pytest.fixture
def kitchen(tmp_path: Path) -> Iterator[tuple[Any, TestClient]]:
    from gateway.app import create_app
    from gateway.platform import Platform
    from gateway.settings import load_settings

    p = Platform(load_settings(data_dir=tmp_path / "data", admin_token=TOKEN), clock=lambda: NOW)
    p.start(mqtt=False)
    app = create_app(p)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        r = c.post("/api/v1/sites", json={"id": "solgarden", "name": "Solgårdens kök"})
        assert r.status_code == 201, r.text
        for dev in (
            {"id": "frys-1", "type": "freezer", "name": "Frys 1", "place": "Förråd"},
            {"id": "kyl-1", "type": "fridge", "name": "Kyl 1"},
            {"id": "bod-1", "type": "technical_shed_temperature", "name": "Bod"},
        ):
            r = c.post("/api/v1/devices", json={**dev, "site_id": "solgarden"})
            assert r.status_code == 201, r.text
        p.store.write([StoredReading("frys-1", t, "temperature", v, "Cel") for t, v in TEMPS])
        p.store.write([StoredReading("frys-1", t, "door_open", v) for t, v in DOORS])
        alert, _kind = p.alerts.fire(
            "frys-1",
            "freezer_too_warm",
            "critical",
            ALERT["started"],
            metric="temperature",
            value=-16.0,
            threshold=-18.0,
        )
        p.alerts.acknowledge(alert.id, ALERT["by"], ALERT["acked"])
        p.alerts.resolve("frys-1", "freezer_too_warm", -20.0, ALERT["resolved"])
        yield p, c
    p.stop()


def test_json_record_matches_hand_computed_month(kitchen: tuple[Any, TestClient]) -> None:
    _, c = kitchen
    r = c.get("/api/v1/sites/solgarden/daily-record", params={"month": "2026-10"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [d["device_id"] for d in body["devices"]] == ["frys-1", "kyl-1"]  # not the shed
    freezer, fridge = body["devices"]
    assert (freezer["limit"], fridge["limit"]) == (-18.0, 8.0)
    days = {d["day"]: d for d in freezer["days"]}
    assert len(days) == 31
    for day, (hours, n, lo, hi, mean, above, door) in EXPECTED.items():
        got = days[day]
        assert (got["hours"], got["readings"], got["min"], got["max"]) == (hours, n, lo, hi), day
        assert got["mean"] == pytest.approx(mean), day
        assert got["above_limit_min"] == pytest.approx(above), day
        assert got["door_open_min"] == pytest.approx(door), day
    (note,) = days["2026-10-12"]["alerts"]
    assert note["acknowledged_by"] == "Anna i köket"
    assert all(d["readings"] == 0 and d["min"] is None for d in fridge["days"])


def test_csv_is_swedish_excel_friendly(kitchen: tuple[Any, TestClient]) -> None:
    _, c = kitchen
    r = c.get("/api/v1/sites/solgarden/daily-record", params={"month": "2026-10", "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 62  # 31 days x 2 devices
    dst = next(x for x in rows if x["Datum"] == "2026-10-25" and x["Enhet"] == "Frys 1")
    assert (dst["Timmar"], dst["Antal mätvärden"], dst["Min (°C)"], dst["Max (°C)"]) == (
        "25",
        "150",
        "-22,0",
        "-15,0",
    )
    assert (dst["Medel (°C)"], dst["Tid över gräns (min)"]) == ("-19,8", "60")
    alert_day = next(x for x in rows if x["Datum"] == "2026-10-12" and x["Enhet"] == "Frys 1")
    assert alert_day["Kvitterat av"] == "Anna i köket 14:05"  # local time, CEST
    assert alert_day["Larm"].endswith("kritiskt 13:55")


def test_pdf_renders_to_non_blank_pages_with_swedish_text(
    kitchen: tuple[Any, TestClient], tmp_path: Path
) -> None:
    from PIL import Image, ImageStat

    _, c = kitchen
    r = c.get("/api/v1/sites/solgarden/daily-record", params={"month": "2026-10", "format": "pdf"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "record.pdf"
    pdf.write_bytes(r.content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2  # 2 devices x 31 days do not fit one A4 page
    for page in pages:
        with Image.open(page) as img:
            stddev = ImageStat.Stat(img.convert("L")).stddev[0]
        assert stddev > 10, f"{page.name} looks blank (stddev {stddev:.1f})"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Temperaturlogg (egenkontroll) – Solgårdens kök – oktober 2026" in text
    for words in ("Över gräns", "Anna i köket", "Förråd", "Signatur"):
        assert words in text


def test_history_raw_and_downsampled(kitchen: tuple[Any, TestClient]) -> None:
    _, c = kitchen
    day = {"from": "2026-10-25T00:00:00+02:00", "to": "2026-10-26T00:00:00+01:00"}
    r = c.get("/api/v1/devices/frys-1/history", params=day)
    assert r.status_code == 200, r.text
    series = {s["metric"]: s for s in r.json()["series"]}
    assert len(series["temperature"]["points"]) == 150
    month = {"from": "2026-10-01T00:00:00", "to": "2026-11-01T00:00:00", "step": "1h"}
    r = c.get("/api/v1/devices/frys-1/history", params=month)  # naive = Stockholm time
    body = r.json()
    assert body["step"] == 3600
    buckets = {s["metric"]: s for s in body["series"]}["temperature"]["buckets"]
    assert len(buckets) == 31 * 24 + 1 - 2  # 745 hours; 12 Oct 12:00-14:00Z had no reading
    assert max(b["max"] for b in buckets) == -15.0
    assert min(b["min"] for b in buckets) == -22.0
    assert sum(b["count"] for b in buckets) == len(TEMPS) - 1  # the 30 Sep reading is outside
    door = {s["metric"]: s for s in body["series"]}["door_open"]["points"]
    assert [p["value"] for p in door] == [False, True, False, True, False]  # changes only


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"}, "before"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}, "at most"),
        ({"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T00:00:00Z", "step": "1s"}, "step"),
        ({"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z", "step": "soon"}, "step"),
    ],
)
def test_history_rejects_with_a_reason(
    kitchen: tuple[Any, TestClient], params: dict[str, str], reason: str
) -> None:
    _, c = kitchen
    r = c.get("/api/v1/devices/frys-1/history", params=params)
    assert r.status_code == 422
    assert reason in r.json()["detail"]


def test_record_needs_a_known_site_and_a_month(kitchen: tuple[Any, TestClient]) -> None:
    _, c = kitchen
    assert c.get("/api/v1/sites/nowhere/daily-record").status_code == 404
    assert c.get("/api/v1/sites/solgarden/daily-record?month=okt").status_code == 422
    assert (
        c.get("/api/v1/sites/solgarden/daily-record", headers={"Authorization": ""}).status_code
        == 401
    )


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on loopback that apprise's json:// posts to."""
    received: list[dict[str, Any]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()


def test_morning_mail_sends_yesterdays_record_once_a_day(
    kitchen: tuple[Any, TestClient],
    receiver: tuple[str, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    from dashboards.record_mail import DailyRecordMailer

    p, _ = kitchen
    url, received = receiver
    state = tmp_path / "last_sent"

    def mailer() -> DailyRecordMailer:
        return DailyRecordMailer(
            urls=[url],
            send_at=time(6, 30),
            registry=p.registry,
            store=p.store,
            alert_store=p.alerts,
            limits={"freezer": -18.0, "fridge": 8.0},
            state_file=state,
        )

    m = mailer()
    # 26 October 06:29 local (CET, UTC+1): not yet; 06:30: yesterday, the 25-hour day
    m(datetime(2026, 10, 26, 5, 29, tzinfo=UTC))
    m(datetime(2026, 10, 26, 5, 30, tzinfo=UTC))
    wait_for(lambda: received, what="the morning e-mail")
    (msg,) = received
    assert msg["title"] == "Temperaturlogg Solgårdens kök 2026-10-25"
    assert "2026-10-25: min −22,0, max −15,0, medel −19,8 °C; över gräns 60 min" in msg["message"]
    assert "2026-10-24" not in msg["message"]
    (attachment,) = msg["attachments"]
    csv_text = base64.b64decode(attachment["base64"]).decode("utf-8-sig")
    assert csv_text.startswith("Datum;Timmar;Enhet")
    assert state.read_text().strip() == "2026-10-26"
    # later the same morning, and after a restart: nothing more
    m(datetime(2026, 10, 26, 7, 0, tzinfo=UTC))
    mailer()(datetime(2026, 10, 26, 9, 0, tzinfo=UTC))
    # the next morning again
    mailer()(datetime(2026, 10, 27, 5, 31, tzinfo=UTC))
    wait_for(lambda: len(received) == 2, what="the second morning's e-mail")
    assert received[1]["title"].endswith("2026-10-26")
    assert len(received) == 2


def test_limits_are_configuration(kitchen: tuple[Any, TestClient]) -> None:
    p, c = kitchen
    p.settings.record_limits = {"freezer": -21.0}  # e.g. a kitchen's stricter own limit
    body = c.get("/api/v1/sites/solgarden/daily-record", params={"month": "2026-10"}).json()
    assert [d["device_id"] for d in body["devices"]] == ["frys-1"]  # fridges not covered now
    days = {d["day"]: d for d in body["devices"][0]["days"]}
    assert days["2026-10-02"]["above_limit_min"] == pytest.approx(24 * 60)
    assert days["2026-10-25"]["above_limit_min"] == pytest.approx(25 * 60 - 10)  # one at -22
