"""The data directory is 0700 and every file in it 0600, SQLite's -wal/-shm included, even under
the usual umask 022 and for an installation whose files were created 0644 before."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from access.users import UserStore
from ingest.spool import SpooledStore
from ingest.sqlite_store import SqliteReadingStore
from ingest.store import StoredReading


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(data: Path) -> dict[str, str]:
    return {p.name: oct(_mode(p)) for p in sorted(data.iterdir())}


def test_platform_creates_a_private_data_directory(tmp_path: Path) -> None:
    from gateway.demo import demo_admin_password
    from gateway.platform import Platform
    from gateway.settings import load_settings

    data = tmp_path / "data"
    platform = Platform(load_settings(data_dir=data))  # generates admin_token
    platform.start(mqtt=False)
    try:
        now = datetime.now(UTC)
        platform.store.write([StoredReading("d1", now, "temperature", 4.0, "°C")])
        users = UserStore(platform.sessions)
        users.ensure_bootstrap_admin(platform.admin_token, now)
        assert demo_admin_password(users, data)
        names = {p.name for p in data.iterdir()}
        assert {"kommunvakt.db", "care_readings.db", "readings.db", "admin_token"} <= names
        assert {"admin_password", "kommunvakt.db-wal", "readings.db-wal"} <= names
        assert _mode(data) == 0o700
        assert {n: m for n, m in _modes(data).items() if m != oct(0o600)} == {}
    finally:
        platform.stop()


def test_an_existing_installation_is_tightened(tmp_path: Path) -> None:
    from gateway.platform import Platform
    from gateway.settings import load_settings

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    for name in ("kommunvakt.db", "readings.db", "care_readings.db"):
        (data / name).touch(mode=0o644)
    platform = Platform(load_settings(data_dir=data, admin_token="t" * 32))
    platform.start(mqtt=False)
    platform.stop()
    assert _mode(data) == 0o700
    assert {n: m for n, m in _modes(data).items() if m != oct(0o600)} == {}


class _Down:
    """A backend that is never reachable, so that readings stay in the spool."""

    def write(self, readings: list[StoredReading]) -> None:
        raise OSError("down")

    def close(self) -> None:
        pass


def test_spool_and_sqlite_store_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "spool-dir"
    store = SqliteReadingStore(data / "readings.db")
    store.write([StoredReading("d1", datetime.now(UTC), "temperature", 4.0, "°C")])
    assert _mode(data) == 0o700
    assert {n: m for n, m in _modes(data).items() if m != oct(0o600)} == {}
    store.close()
    spool_dir = tmp_path / "spool"
    spool = SpooledStore(_Down(), spool_dir / "influx-spool.db")  # type: ignore[arg-type]
    try:
        assert _mode(spool_dir) == 0o700
        assert {n: m for n, m in _modes(spool_dir).items() if m != oct(0o600)} == {}
    finally:
        spool.close()


def test_a_database_elsewhere_leaves_its_directory_alone(tmp_path: Path) -> None:
    from core.db import make_engine

    shared = tmp_path / "srv"
    shared.mkdir(mode=0o755)
    engine = make_engine(f"sqlite:///{shared / 'kommunvakt.db'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert _mode(shared) == 0o755
    assert _mode(shared / "kommunvakt.db") == 0o600
