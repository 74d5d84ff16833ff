"""Shared fixtures: real parts on loopback, each test with its own ports and data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import Mosquitto, mosquitto_binary
from tests.support.platform import TOKEN, PlatformProcess
from tests.support.postgres import pg_cluster  # noqa: F401  (session-wide PostgreSQL, issue 4)
from tests.support.victoriametrics import VictoriaMetrics, victoria_metrics_binary


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed; `make test` installs it")
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A real server speaking InfluxDB's /api/v2/write (Debian's victoria-metrics)."""
    if victoria_metrics_binary() is None:
        pytest.fail("victoria-metrics is not installed; `make test` installs it")
    server = VictoriaMetrics(tmp_path / "vm").start()
    yield server
    server.stop()


@pytest.fixture
def platform_factory(tmp_path: Path) -> Iterator[type[PlatformProcess]]:
    started: list[PlatformProcess] = []

    class _Factory(PlatformProcess):
        def start(self, timeout: float = 30.0) -> PlatformProcess:
            started.append(self)
            return super().start(timeout)

    yield _Factory
    for proc in started:
        proc.stop()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright (no browser download)."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("chromium is not installed; `make test` installs it")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[object]:
    """An in-process platform without MQTT (API, registry, stores, alerts), stopped after."""
    from gateway.platform import Platform
    from gateway.settings import load_settings

    p = Platform(load_settings(data_dir=tmp_path / "data", admin_token=TOKEN))
    p.start(mqtt=False)
    yield p
    p.stop()


@pytest.fixture
def client(platform: object) -> Iterator[object]:
    """A TestClient on ``create_app(platform)`` carrying the admin bearer token."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    app = create_app(platform)  # type: ignore[arg-type]
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c
