"""`kommunvakt decode`: JSON lines out, exit 2 with one line on stderr for a rejected payload."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.platform import KOMMUNVAKT


def decode(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KOMMUNVAKT, "decode", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_decode_file(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_text('{"time": "2026-07-01T14:00:00+02:00", "values": {"temperature": 31}}')
    result = decode("--topic", "kv/teknikbod-3/up", str(payload))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {
            "device_ref": "teknikbod-3",
            "metric": "temperature",
            "value": 31.0,
            "unit": "Cel",
            "time": "2026-07-01T12:00:00Z",
        }
    ]


def test_decode_stdin_rejected() -> None:
    result = decode("--topic", "kv/teknikbod-3/up", "-", stdin='{"values": {"temperature": "x"}}')
    assert result.returncode == 2
    assert result.stdout == ""
    err = result.stderr.strip().splitlines()
    assert len(err) == 1
    assert "not a number" in err[0]


def test_decode_unknown_topic_and_format() -> None:
    result = decode("--topic", "nowhere/at/all", "-", stdin="{}")
    assert result.returncode == 2
    assert "no payload format" in result.stderr
    result = decode("--topic", "kv/x/up", "--format", "carrier-pigeon", "-", stdin="{}")
    assert result.returncode == 2
    assert "unknown format" in result.stderr


def test_decode_missing_file(tmp_path: Path) -> None:
    result = decode("--topic", "kv/x/up", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_decode_time_outside_the_calendar_in_utc() -> None:
    """Year 1 at +01:00 is year 0 in UTC: a reason and exit 2, not a traceback."""
    body = '{"time": "0001-01-01T00:00:00+01:00", "values": {"temperature": 1}}'
    result = decode("--topic", "kv/teknikbod-3/up", "-", stdin=body)
    assert result.returncode == 2, result.stderr
    err = result.stderr.strip().splitlines()
    assert len(err) == 1
    assert "outside the years 1-9999" in err[0]
