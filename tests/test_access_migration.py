"""Revision 0002 on a database at the released baseline, with a user in it: the OIDC links,
the per-source sign-in locks, the users' session generation and the checks' timing arrive,
and those tables then match the models (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from core.db import Base, make_engine
from devices.migrate import alembic_config, prepare_database

OURS = {
    "access_users",
    "access_oidc_links",
    "access_sign_in_locks",
    "sv_checks",
    "sv_check_transitions",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_cluster").create_database())
    return f"sqlite:///{tmp_path / 'kv.db'}"


def _table(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str):
            return part
        name = getattr(part, "name", None)
        if isinstance(name, str):
            return name
    return None


def test_sign_in_revision_upgrades_a_baseline_database(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "0001")
            conn.execute(
                text(
                    "INSERT INTO access_users (username, role, sites, care_units, disabled,"
                    " failed_logins, created_at) VALUES ('anna', 'viewer', '[]', '[]', false, 0,"
                    " '2026-12-01 00:00:00')"
                )
            )
            # children of the altered tables: a table copy under foreign keys would lose them
            for sql in (
                "INSERT INTO access_tokens (user_id, name, digest, created_at) VALUES"
                " (1, 't', 'd', '2026-12-01 00:00:00')",
                "INSERT INTO sv_residents (id, label, care_unit_id, cohabitants, lacks_capacity,"
                " created_at, created_by) VALUES ('r-1', 'Lgh 1', 'u', 0, false,"
                " '2026-12-01 00:00:00', 'a')",
                "INSERT INTO sv_checks (resident_id, care_unit_id, method, night, planned,"
                " due_at, status, rung, updated_at) VALUES ('r-1', 'u', 'camera', '2026-12-01',"
                " '02:00', '2026-12-02 01:00:00', 'ok', 0, '2026-12-02 01:00:00')",
                "INSERT INTO sv_check_transitions (check_id, at, from_status, to_status, actor,"
                " source) VALUES (1, '2026-12-02 01:00:00', 'scheduled', 'ok', 'a', 'manual')",
            ):
                conn.execute(text(sql))
        assert prepare_database(engine) == "upgraded"
        assert set(inspect(engine).get_table_names()) >= OURS
        with engine.connect() as conn:
            generation = conn.execute(text("SELECT session_generation FROM access_users"))
            assert generation.scalar_one() == 0
            for table in ("access_tokens", "sv_checks", "sv_check_transitions"):
                count = conn.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                assert count.scalar_one() == 1, table
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if _table(d) in OURS] == []
    finally:
        engine.dispose()
