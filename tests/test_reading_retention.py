"""The embedded SQLite store keeps readings ``reading_retention_days`` (400 by default; 0 keeps
them forever): the hourly clock job prunes older ones, retired devices' history with them.
A real platform on real SQLite files, in process; the clock is injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.platform import Platform
from gateway.settings import load_settings
from ingest.store import StoredReading
from tests.support.platform import TOKEN

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _platform(tmp_path: Path, **settings: object) -> Platform:
    return Platform(
        load_settings(data_dir=tmp_path / "data", admin_token=TOKEN, **settings),
        clock=lambda: NOW,
    )


@pytest.mark.parametrize(("days", "kept"), [(400, ["2026-01-01", "2026-12-02"]), (0, None)])
def test_readings_older_than_the_retention_go(
    tmp_path: Path, days: int, kept: list[str] | None
) -> None:
    platform = _platform(tmp_path, reading_retention_days=days)
    try:
        times = [NOW - timedelta(days=d) for d in (800, 401, 336, 1)]
        platform.store.write(
            [StoredReading("bod-1", t, "temperature", 20.0 + i, "Cel") for i, t in enumerate(times)]
        )
        gone = platform.prune_readings(NOW)
        rows = platform.store.history("bod-1", "temperature", NOW - timedelta(days=900), NOW)
        if kept is None:  # 0: kept forever
            assert (gone, len(rows)) == (0, 4)
        else:
            assert gone == 2
            assert [r.time.date().isoformat() for r in rows] == kept
            assert [v.value for v in platform.store.latest("bod-1")] == [23.0]
    finally:
        platform.store.close()
        platform.db.dispose()


def test_the_retention_setting_is_refused_when_negative(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reading_retention_days"):
        load_settings(data_dir=tmp_path, admin_token=TOKEN, reading_retention_days=-1)


def test_a_write_to_a_closed_store_is_a_store_error(tmp_path: Path) -> None:
    """The pipeline retries a batch on StoreError (nothing acknowledged); any other error would
    be a bug path. A closed connection must come out as StoreError too."""
    from ingest.errors import StoreError
    from ingest.sqlite_store import SqliteReadingStore

    store = SqliteReadingStore(tmp_path / "r.db")
    store.close()
    with pytest.raises(StoreError, match="cannot write 1 readings"):
        store.write([StoredReading("bod-1", NOW, "temperature", 20.0, "Cel")])
