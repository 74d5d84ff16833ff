"""InfluxDB unreachable: a history request is a 503 with the reason, the platform stays up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from devices.schemas import DeviceCreate, SiteCreate
from gateway.app import create_app
from gateway.platform import Platform
from gateway.settings import load_settings
from ingest.influx_store import InfluxReadingStore, registry_tags
from ingest.spool import SpooledStore
from ingest.store import StoredReading
from tests.support.net import free_port
from tests.support.platform import TOKEN


def test_history_without_influxdb_is_503_and_latest_still_answers(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", admin_token=TOKEN)
    holder: list[Platform] = []
    backend = InfluxReadingStore(
        f"http://127.0.0.1:{free_port()}",  # nothing listens: InfluxDB is down
        "token",
        "kommunvakt",
        "kommunvakt",
        tags_for=lambda device_id: registry_tags(holder[0].registry)(device_id),
        timeout_ms=1000,
    )
    store = SpooledStore(backend, tmp_path / "spool.db", flush_interval=0.05, max_backoff=0.2)
    platform = Platform(settings, store=store)
    holder.append(platform)
    platform.start(mqtt=False)
    try:
        platform.registry.create_site(SiteCreate(id="skola-1", name="Norrskolan"))
        platform.registry.create(
            DeviceCreate(id="shed-1", type="technical_shed_temperature", site_id="skola-1"),
            now=datetime.now(UTC),
        )
        store.write([StoredReading("shed-1", datetime.now(UTC), "temperature", 21.5, "Cel")])
        app = create_app(platform)
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            latest = client.get("/api/v1/devices/shed-1/latest")
            assert latest.status_code == 200
            assert latest.json()[0]["value"] == 21.5  # from the spool
            history = client.get("/api/v1/devices/shed-1/history")
            assert history.status_code == 503
            assert "unreachable" in history.json()["detail"]
            assert client.get("/healthz").status_code == 200
    finally:
        platform.stop()
