"""Shared fixtures: real parts on loopback, each test with its own ports and data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import Mosquitto, mosquitto_binary
from tests.support.platform import PlatformProcess


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed; `make test` installs it")
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


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
