"""Alembic at start: an empty database is built by the revisions, a migrated one upgraded, one
not made by them refused; the revisions build exactly the models (SQLite and PostgreSQL); a
database made by the released code upgrades to head with every row kept."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from core.db import Base, make_engine
from devices.migrate import (
    UnmanagedDatabaseError,
    alembic_config,
    head_revision,
    import_models,
    prepare_database,
)

#: the registry's own tables (a sample: the revisions build every package's tables)
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


def test_database_not_made_by_the_migrations_is_refused(db_url: str) -> None:
    """Tables without a migration history are not guessed at: the start stops with a reason."""
    engine = make_engine(db_url)
    try:
        import_models()
        Base.metadata.tables["sites"].create(engine)
        with pytest.raises(UnmanagedDatabaseError, match="no migration history"):
            prepare_database(engine)
        assert "alembic_version" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_revisions_build_exactly_the_models(db_url: str) -> None:
    """Every table and column of every package's models comes from a revision: a model changed
    without a new revision fails here (the schema is never made by ``create_all`` at run time)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "head")
        import_models()
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == [], (
            "the models and the migrations disagree: add a revision with "
            "`python -m devices.migrate revision 'what changed'` (never edit the baseline)"
        )
        assert prepare_database(engine) == "upgraded"
    finally:
        engine.dispose()


#: a database made by the released code (0001) running the demo for a minute: sites, devices,
#: alerts and their deliveries, a resident with consent, schedule and a check, users and tokens
RELEASED_DB = Path(__file__).parent / "data" / "kommunvakt-released-0001.db"


def _rows(engine: Any, columns: dict[str, list[str]]) -> dict[str, set[tuple[Any, ...]]]:
    out: dict[str, set[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table, cols in columns.items():
            quoted = ", ".join(f'"{c}"' for c in cols)
            query = f'SELECT {quoted} FROM "{table}"'  # noqa: S608  (names from the schema)
            out[table] = {tuple(r) for r in conn.exec_driver_sql(query)}
    return out


def test_a_released_database_upgrades_to_head_and_loses_nothing(tmp_path: Path) -> None:
    """Every row of the released database is still there after the upgrade, by its columns of
    then (a later revision may add columns, never drop what the municipality stored)."""
    db = tmp_path / "kommunvakt.db"
    shutil.copyfile(RELEASED_DB, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            columns = {
                t: sorted(c["name"] for c in inspect(conn).get_columns(t))
                for t in inspect(conn).get_table_names()
                if t != "alembic_version"
            }
        before = _rows(engine, columns)
        assert sum(len(rows) for rows in before.values()) > 30  # the fixture holds data
        assert prepare_database(engine) == "upgraded"
        assert _revision(engine) == head_revision()
        after = _rows(engine, columns)
        for table, rows in before.items():
            assert rows <= after[table], f"rows of {table} lost or changed by the upgrade"
    finally:
        engine.dispose()


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
