"""An in-process platform + API client on SQLite or on a real PostgreSQL (per-test database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import TOKEN

__all__ = ["BACKENDS", "make_api"]

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def make_api(
    request: pytest.FixtureRequest, tmp_path: Path, **settings: Any
) -> Iterator[tuple[Any, Any]]:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.platform import Platform
    from gateway.settings import load_settings

    if getattr(request, "param", "sqlite") == "postgres":
        settings["database_url"] = request.getfixturevalue("pg_cluster").create_database()
    platform = Platform(load_settings(data_dir=tmp_path / "data", admin_token=TOKEN, **settings))
    platform.start(mqtt=False)
    try:
        app = create_app(platform)
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client, platform
    finally:
        platform.stop()
