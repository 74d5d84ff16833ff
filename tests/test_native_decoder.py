"""The native family `kv/<device_id>/up`, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.errors import DecodeError
from ingest.native import decode

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"values": {"temperature": 21.5}}', [("temperature", 21.5, "Cel", NOW)]),
        ('{"values": {"temperature": "21.5"}}', [("temperature", 21.5, "Cel", NOW)]),
        (
            '{"time": "2026-07-01T14:00:00+02:00", "values": {"humidity": 40}}',
            [("humidity", 40.0, "%RH", datetime(2026, 7, 1, 12, 0, tzinfo=UTC))],
        ),
        (
            '{"time": 1782907200, "values": {"battery": 88}}',
            [("battery", 88.0, "%EL", datetime.fromtimestamp(1782907200, UTC))],
        ),
        (
            '{"time": 1782907200000, "values": {"door_open": true}}',
            [("door_open", True, None, datetime.fromtimestamp(1782907200, UTC))],
        ),
        ('{"time": null, "values": {"water_leak": "false"}}', [("water_leak", False, None, NOW)]),
        (
            '{"values": {"co2": 612, "occupancy": 1}}',
            [("co2", 612.0, "ppm", NOW), ("occupancy", True, None, NOW)],
        ),
    ],
)
def test_native_payloads(payload: str, expected: list[tuple[object, ...]]) -> None:
    decoded = decode("kv/shed-1/up", payload.encode(), NOW)
    assert decoded.device_ref == "shed-1"
    assert [(r.metric, r.value, r.unit, r.time) for r in decoded.readings] == expected
    assert all(r.device_ref == "shed-1" for r in decoded.readings)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("kv/shed-1/up", b"not json", "not JSON"),
        ("kv/shed-1/up", b"[1]", "expected an object"),
        ("kv/shed-1/up", b"{}", 'no "values"'),
        ("kv/shed-1/up", b'{"values": {}}', 'no "values"'),
        ("kv/shed-1/up", b'{"values": {"temperature": "hot"}}', "'hot' is not a number"),
        ("kv/shed-1/up", b'{"values": {"temperature": true}}', "boolean"),
        ("kv/shed-1/up", b'{"values": {"temperature": NaN}}', "not JSON"),
        ("kv/shed-1/up", b'{"values": {"door_open": "maybe"}}', "not a boolean"),
        ("kv/shed-1/up", b'{"values": {"mood": 3}}', "unknown metric 'mood'"),
        ("kv/shed-1/up", b'{"time": "yesterday", "values": {"temperature": 1}}', "not ISO"),
        ("kv//up", b'{"values": {"temperature": 1}}', "is not kv/<device_id>/up"),
        ("kv/shed-1/up", b" " * 300_000, "over the"),
    ],
)
def test_native_rejections_have_reasons(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(topic, payload, NOW)
