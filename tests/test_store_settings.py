"""KOMMUNVAKT_STORE picks the reading store; InfluxDB without a token is a settings error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.settings import load_settings
from gateway.stores import SPOOL_FILE, build_reading_store, spool_metrics
from ingest.influx_store import InfluxReadingStore
from ingest.spool import SpooledStore
from ingest.sqlite_store import SqliteReadingStore
from tests.support.net import free_port
from tests.support.platform import TOKEN


def test_influxdb_without_a_token_is_refused_with_the_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs KOMMUNVAKT_INFLUX_TOKEN"):
        load_settings(data_dir=tmp_path, admin_token=TOKEN, store="influxdb")


def test_store_selection(tmp_path: Path, platform: Any) -> None:
    sqlite = build_reading_store(
        load_settings(data_dir=tmp_path, admin_token=TOKEN), platform.registry
    )
    assert isinstance(sqlite, SqliteReadingStore)
    assert spool_metrics(sqlite) == []
    sqlite.close()
    settings = load_settings(
        data_dir=tmp_path,
        admin_token=TOKEN,
        store="influxdb",
        influx_url=f"http://127.0.0.1:{free_port()}",
        influx_token="a-token",
        influx_batch_size=123,
        spool_max_readings=1000,
    )
    spooled = build_reading_store(settings, platform.registry)
    assert isinstance(spooled, SpooledStore)
    assert isinstance(spooled.backend, InfluxReadingStore)
    assert spooled.path == tmp_path / SPOOL_FILE
    assert (spooled.batch_size, spooled.max_readings) == (123, 1000)
    spool = {s.name: s.value for family in spool_metrics(spooled) for s in family.samples}
    assert spool["kommunvakt_spool_readings"] == 0
    assert spool["kommunvakt_spool_capacity_readings"] == 1000
    spooled.close(drain_timeout=0)
