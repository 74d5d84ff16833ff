"""``ingest.payload_names.candidate_refs``: the device names a refused payload may carry."""

from __future__ import annotations

import json

import pytest

from ingest.payload_names import MAX_NAME_CHARS, MAX_NAMES, candidate_refs


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # SenML: the base name with its trailing separator, and without
        (b'[{"bn": "urn:dev:mac:0024befffe804ff1:", "n": "in_bed", "vb": true}]',
         {"urn:dev:mac:0024befffe804ff1", "urn:dev:mac:0024befffe804ff1:"}),
        # a name without bn: "device/metric"
        (b'[{"n": "bed-7/in_bed", "vb": true}]', {"bed-7/in_bed", "bed-7"}),
        # nested objects (a network server's event)
        (b'{"deviceInfo": {"devEui": "a84041000181c5e1"}}', {"a84041000181c5e1"}),
        (b"not json", set()),
        (b"", set()),
        (b'"bed-1"', {"bed-1"}),
    ],
)  # fmt: skip
def test_names_in_a_payload(payload: bytes, expected: set[str]) -> None:
    assert expected <= set(candidate_refs(payload))


def test_hostile_payloads_are_bounded() -> None:
    many = json.dumps([{"bn": f"dev-{i}:"} for i in range(10_000)]).encode()
    assert len(candidate_refs(many)) <= 4 * MAX_NAMES
    long = json.dumps([{"bn": "x" * (MAX_NAME_CHARS + 1)}]).encode()
    assert candidate_refs(long) == []
    deep = b"[" * 50_000 + b"]" * 50_000
    assert candidate_refs(deep) == []
