"""Claiming and retiring end to end: a real Mosquitto, ``kommunvakt run`` as a process, and the
``kommunvakt devices`` CLI talking to it."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.cli import app as cli
from tests.support.mosquitto import Mosquitto
from tests.support.net import wait_for
from tests.support.platform import KOMMUNVAKT, PlatformProcess

pytestmark = pytest.mark.mosquitto


def pub(broker: Mosquitto, topic: str, body: dict[str, Any]) -> None:
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            json.dumps(body),
        ],
        check=True,
        timeout=30,
    )


def shed(celsius: float, at: datetime) -> dict[str, Any]:
    return {"time": at.isoformat(), "values": {"temperature": celsius, "battery": 90}}


def run_cli(proc: PlatformProcess, *args: str) -> Any:
    env = {"KOMMUNVAKT_URL": proc.base_url, "KOMMUNVAKT_TOKEN": proc.token}
    return CliRunner().invoke(cli, ["devices", *args], env=env)


def test_claim_then_retire_over_mosquitto(
    mosquitto: Mosquitto, platform_factory: type[PlatformProcess], tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "data", mqtt_url=mosquitto.url).start()
    proc.post("/api/v1/sites", {"id": "vattenverket", "name": "Vattenverket"})
    now = datetime.now(UTC)
    # a shed nobody registered: too hot for ten minutes, the gateway quarantines it
    for minutes, celsius in ((10, 31.0), (5, 31.5), (0, 32.0)):
        pub(mosquitto, "kv/bod-9/up", shed(celsius, now - timedelta(minutes=minutes)))
    unknown = wait_for(
        lambda: [u for u in proc.get("/api/v1/unknown-devices") if u["messages"] == 3],
        what="the unknown shed is listed with its three messages",
    )
    assert '"temperature": 32.0' in unknown[0]["last_payload"]  # type: ignore[index]
    assert proc.get("/api/v1/alerts") == []

    out = run_cli(proc, "unknown")
    assert out.exit_code == 0, out.output
    assert "bod-9" in out.output
    out = run_cli(
        proc,
        "claim",
        "bod-9",
        "--type",
        "technical_shed_temperature",
        "--site",
        "vattenverket",
        "--place",
        "Apparatrum",
    )
    assert out.exit_code == 0, out.output
    assert "6 reading(s) ingested" in out.output  # 3 × temperature + battery
    latest = {v["metric"]: v["value"] for v in proc.get("/api/v1/devices/bod-9/latest")}
    assert latest == {"temperature": 32.0, "battery": 90.0}
    alerts = proc.get("/api/v1/alerts", state="active")
    assert [(a["device_id"], a["severity"]) for a in alerts] == [("bod-9", "critical")]
    assert proc.get("/api/v1/unknown-devices") == []

    # from now on its messages are stored directly
    pub(mosquitto, "kv/bod-9/up", shed(24.0, datetime.now(UTC)))
    wait_for(
        lambda: (
            {v["metric"]: v["value"] for v in proc.get("/api/v1/devices/bod-9/latest")}.get(
                "temperature"
            )
            == 24.0
        ),
        what="a reading after the claim is stored",
    )
    wait_for(lambda: proc.get("/api/v1/alerts", state="active") == [], what="alert resolved")

    out = run_cli(proc, "retire", "bod-9")
    assert out.exit_code == 0, out.output
    pub(mosquitto, "kv/bod-9/up", shed(45.0, datetime.now(UTC)))
    letters = wait_for(
        lambda: [d for d in proc.get("/api/v1/dead-letters") if "retired" in d["reason"]],
        what="the retired device's message is dead-lettered",
    )
    assert "bod-9" in letters[0]["reason"]  # type: ignore[index]
    latest = {v["metric"]: v["value"] for v in proc.get("/api/v1/devices/bod-9/latest")}
    assert latest["temperature"] == 24.0  # history kept, nothing new stored
    assert proc.get("/api/v1/alerts", state="active") == []  # a retired device raises nothing
    assert not [a for a in proc.get("/api/v1/alerts") if a["value"] == 45.0]
    assert proc.get("/api/v1/devices/bod-9")["state"] == "retired"


def test_cli_add_list_show_import_export(
    platform_factory: type[PlatformProcess], tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "data").start()
    proc.post("/api/v1/sites", {"id": "skolan", "name": "Skolan"})
    out = run_cli(
        proc,
        "add",
        "frys-1",
        "--type",
        "freezer",
        "--site",
        "skolan",
        "--place",
        "Kök",
        "--ref",
        "zigbee2mqtt:Frys kök",
    )
    assert out.exit_code == 0, out.output
    bad = run_cli(proc, "add", "x", "--type", "toaster")
    assert bad.exit_code == 2
    assert "unknown device type 'toaster'" in bad.output
    dup = run_cli(proc, "add", "frys-2", "--type", "freezer", "--ref", "zigbee2mqtt:Frys kök")
    assert dup.exit_code == 1
    assert "409" in dup.output

    out = run_cli(proc, "list")
    assert out.exit_code == 0, out.output
    assert "frys-1" in out.output
    assert "never_seen" in out.output
    shown = run_cli(proc, "show", "frys-1")
    assert json.loads(shown.stdout)["refs"][1] == {"source": "zigbee2mqtt", "ref": "Frys kök"}
    assert run_cli(proc, "show", "nope").exit_code == 1

    csv_file = tmp_path / "enheter.csv"
    csv_file.write_text(
        "enhet;typ;fastighet;rum\n"
        + "".join(f"rum-{i};room_climate;skolan;Rum {i}\n" for i in range(2000))
        + "trasig;toaster;;\n",
        encoding="cp1252",
    )
    # the real command, as a process: a progress bar on stderr, the report on stdout
    env = {"KOMMUNVAKT_URL": proc.base_url, "KOMMUNVAKT_TOKEN": proc.token, "PATH": "/usr/bin"}
    dry = subprocess.run(
        [KOMMUNVAKT, "devices", "import", str(csv_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 2, dry.stderr
    assert "line 2002: " in dry.stderr
    assert "toaster" in dry.stderr
    assert "upload" in dry.stderr
    assert "2001 row(s), 2000 valid, 1 bad" in dry.stdout
    refused = run_cli(proc, "import", str(csv_file), "--commit")
    assert refused.exit_code == 2
    assert proc.get("/api/v1/devices")["total"] == 1  # all or nothing
    csv_file.write_text(csv_file.read_text(encoding="cp1252").replace("trasig;toaster;;\n", ""))
    done = run_cli(proc, "import", str(csv_file), "--commit")
    assert done.exit_code == 0, done.output
    assert "imported 2000" in done.output
    assert proc.get("/api/v1/devices", limit=1)["total"] == 2001

    exported = tmp_path / "ut.csv"
    assert run_cli(proc, "export", str(exported)).exit_code == 0
    lines = exported.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("id;type;name;site_id")
    assert len(lines) == 2002
