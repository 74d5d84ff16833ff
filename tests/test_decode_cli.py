"""``kommunvakt decode --topic T [--format F] FILE|-`` as a technician runs it, for every family."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.support.decode_examples import CHIRPSTACK_V4_JOIN, CHIRPSTACK_V4_UP, TTS_UP, with_object

KOMMUNVAKT = str(Path(sys.executable).with_name("kommunvakt"))


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [KOMMUNVAKT, "decode", *args], input=stdin, capture_output=True, timeout=60, check=False
    )


# (topic, payload, expected (device_ref, metric, value, unit) lines)
CASES = [
    (
        "kv/shed-1/up",
        b'{"time":"2026-01-15T12:00:00+01:00","values":{"temperature":"26.5"}}',
        [("shed-1", "temperature", 26.5, "Cel", "2026-01-15T11:00:00Z")],
    ),
    (
        "application/1/device/0101010101010101/event/up",
        orjson.dumps(with_object(CHIRPSTACK_V4_UP, "object", {"leakage_status": "leak"})),
        [
            ("0101010101010101", "water_leak", True, None, "2022-07-18T09:34:15.775023Z"),
            ("0101010101010101", "rssi", -36.0, "dBm", "2022-07-18T09:34:15.775023Z"),
            ("0101010101010101", "snr", 10.5, "dB", "2022-07-18T09:34:15.775023Z"),
        ],
    ),
    (
        "v3/app1@tenant1/devices/dev1/up",
        orjson.dumps(
            {
                **TTS_UP,
                "uplink_message": {
                    "decoded_payload": {"temperature": 5},
                    "received_at": "2026-01-15T10:00:00Z",
                },
            }
        ),
        [("dev1", "temperature", 5.0, "Cel", "2026-01-15T10:00:00Z")],
    ),
    (
        "zigbee2mqtt/Kök/frys: dörr",
        b'{"contact":true,"last_seen":1768471200000}',
        [("Kök/frys: dörr", "door_open", False, None, "2026-01-15T10:00:00Z")],
    ),
    (
        "tele/bod/SENSOR",
        b'{"Time":"2026-01-15T10:00:00Z","DS18B20":{"Temperature":30.5}}',
        [("bod", "temperature", 30.5, "Cel", "2026-01-15T10:00:00Z")],
    ),
    (
        "senml/x",
        b'[{"bn":"dev-9:","bt":1768471200,"n":"humidity","u":"%RH","v":55}]',
        [("dev-9", "humidity", 55.0, "%RH", "2026-01-15T10:00:00Z")],
    ),
]


@pytest.mark.parametrize(("topic", "payload", "expected"), CASES, ids=lambda c: str(c)[:24])
def test_decode_prints_json_lines_for_every_family(
    tmp_path: Path, topic: str, payload: bytes, expected: list[tuple[object, ...]]
) -> None:
    path = tmp_path / "payload.json"
    path.write_bytes(payload)
    result = run("--topic", topic, str(path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [
        (d["device_ref"], d["metric"], d["value"], d["unit"], d["time"]) for d in lines
    ] == expected


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("application/1/device/0101010101010101/event/join", orjson.dumps(CHIRPSTACK_V4_JOIN)),
        ("homeassistant/binary_sensor/0x1/contact/config", b'{"device_class":"door"}'),
    ],
)
def test_messages_without_readings_print_nothing_and_exit_0(topic: str, payload: bytes) -> None:
    result = run("--topic", topic, "-", stdin=payload)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


@pytest.mark.parametrize(
    ("args", "payload", "reason"),
    [
        (["--topic", "tele/bod/LWT"], b"Maybe", "neither Online nor Offline"),
        (["--topic", "nowhere/at/all"], b"{}", "no payload format is configured"),
        (["--topic", "x", "--format", "toaster"], b"{}", "unknown format 'toaster'"),
        # --format forces a family for a topic it does not own: a reason, not a traceback
        (["--topic", "tele/bod/SENSOR", "--format", "chirpstack"], b"{}", "is not application/"),
    ],
)
def test_rejections_exit_2_with_one_line_reason(
    args: list[str], payload: bytes, reason: str
) -> None:
    result = run(*args, "-", stdin=payload)
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.count("\n") == 1
    assert reason in err
