"""``/metrics`` in the Prometheus text format, written by ``prometheus_client``.

A label value comes from configuration or from the wire (a payload family's name): quotes,
backslashes and newlines in it are escaped, so one odd name cannot break the scrape. Each
app has its own registry: two platforms in one process do not see each other's figures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from devices.reading import Decoded
from gateway.app import create_app
from gateway.pipeline import Inbound
from gateway.platform import Platform
from gateway.settings import load_settings
from ingest.formats import DECODERS
from tests.support.platform import TOKEN

ODD = 'a "quoted" \\ family\nwith a newline'


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_a_label_value_with_quotes_backslashes_and_newlines_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def odd(topic: str, payload: bytes, received_at: datetime) -> Decoded:
        return Decoded(device_ref="x", family=ODD)

    # a payload family of our own, registered where families register
    monkeypatch.setitem(DECODERS, "odd", odd)
    formats = {"odd": ["odd/#"]}
    platform = Platform(load_settings(data_dir=tmp_path / "d", admin_token=TOKEN, formats=formats))
    platform.start(mqtt=False)
    try:
        with TestClient(
            create_app(platform), headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            platform.pipeline.process([Inbound("odd/1", b"{}", 1, 1, datetime.now(UTC))])
            text = client.get("/metrics").text
    finally:
        platform.stop()
    assert (
        'kommunvakt_messages_by_family_total{family="a \\"quoted\\" \\\\ family\\nwith a newline"}'
        in text
    )
    # the whole scrape still parses, and the name comes back as it was
    by_family = samples(text, "kommunvakt_messages_by_family_total")
    assert by_family == {(("family", ODD),): 1.0}


def test_each_app_counts_its_own_platform(platform: Any, client: Any, tmp_path: Path) -> None:
    other = Platform(load_settings(data_dir=tmp_path / "other", admin_token=TOKEN))
    other.start(mqtt=False)
    try:
        with TestClient(
            create_app(other), headers={"Authorization": f"Bearer {TOKEN}"}
        ) as other_client:
            platform.pipeline.process([Inbound("kv/x/up", b"not json", 1, 1, datetime.now(UTC))])
            mine = samples(client.get("/metrics").text, "kommunvakt_dead_letters_total")
            theirs = samples(other_client.get("/metrics").text, "kommunvakt_dead_letters_total")
    finally:
        other.stop()
    assert mine == {(): 1.0}
    assert theirs == {(): 0.0}


def test_every_metric_has_help_and_a_type(client: Any) -> None:
    text = client.get("/metrics").text
    families = list(text_string_to_metric_families(text))
    assert len(families) >= 20
    assert all(f.documentation and f.type in ("counter", "gauge") for f in families)
    assert client.get("/metrics").headers["content-type"].startswith("text/plain; version=0.0.4")
