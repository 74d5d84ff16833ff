"""Alembic at start: an empty database is created and stamped, an old one adopted, a migrated
one upgraded; the shipped baseline matches the registry's models (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from devices.db import Base, make_engine
from devices.migrate import alembic_config, head_revision, import_models, prepare_database

#: the registry's own tables; other packages' tables join the baseline when the lead regenerates it
REGISTRY_TABLES = {
    "sites",
    "places",
    "care_units",
    "devices",
    "device_refs",
    "unknown_devices",
    "quarantined_readings",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_cluster").create_database())
    return f"sqlite:///{tmp_path / 'kv.db'}"


def _revision(engine: Any) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_empty_database_is_created_and_stamped_then_upgraded(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert prepare_database(engine) == "created"
        assert _revision(engine) == head_revision() is not None
        assert set(inspect(engine).get_table_names()) >= REGISTRY_TABLES
        assert prepare_database(engine) == "upgraded"  # the next start: nothing to do
        assert _revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_database_from_before_migrations_is_adopted(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        import_models()
        Base.metadata.tables["sites"].create(engine)  # an old, partial schema
        assert prepare_database(engine) == "adopted"
        assert set(inspect(engine).get_table_names()) >= REGISTRY_TABLES
        assert _revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_baseline_revision_builds_the_registry_schema(db_url: str) -> None:
    """``alembic upgrade head`` on an empty database gives the models' registry tables."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "head")
        import_models()
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        ours = [d for d in diffs if _table_of(d) in REGISTRY_TABLES]
        assert ours == [], (
            "the registry's models changed: regenerate the baseline (devices/migrate.py)"
        )
        assert prepare_database(engine) == "upgraded"
    finally:
        engine.dispose()


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in REGISTRY_TABLES:
            return part
        if name in REGISTRY_TABLES and hasattr(part, "columns"):
            return str(name)
    return None


@pytest.mark.postgres
def test_two_starts_at_once_on_postgresql(pg_cluster: Any) -> None:
    """Gateway workers starting together: the advisory lock lets one create, the other upgrade."""
    import threading

    url = pg_cluster.create_database()
    engines = [make_engine(url), make_engine(url)]
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def start(engine: Any) -> None:
        try:
            outcomes.append(prepare_database(engine))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert errors == []
    assert sorted(outcomes) == ["created", "upgraded"]
