"""The audit log is append-only on PostgreSQL too: UPDATE, DELETE and TRUNCATE are refused at the
database; the retention job is the one way rows leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from access.audit import AuditLog
from core.db import make_engine, make_sessionmaker
from devices.migrate import prepare_database

pytestmark = pytest.mark.postgres


def test_audit_log_guard_on_postgresql(pg_cluster: Any) -> None:
    engine = make_engine(pg_cluster.create_database())
    try:
        prepare_database(engine)
        AuditLog.install_guards(engine)
        AuditLog.install_guards(engine)  # idempotent, as at every start
        log = AuditLog(make_sessionmaker(engine))
        old = datetime(2025, 1, 1, tzinfo=UTC)
        log.record(old, "anna", "view_board", "care_unit", "u1")
        log.record(
            old + timedelta(days=400), "bo", "view_board", "care_unit", "u2", outcome="denied"
        )
        for stmt in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
                conn.execute(text(stmt))
        assert len(log.entries()) == 2
        assert log.verify()
        removed = log.prune(timedelta(days=365), old + timedelta(days=400))
        assert removed == 1
        assert [e.actor for e in log.entries()] == ["bo"]
        # the permit was transaction-local: the guard is back
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    finally:
        engine.dispose()
