"""The audit log: append-only, one place for every sensitive act.

Who did what to which object, when, from where, and whether it was allowed. Denied attempts
are recorded too. Rows are only ever inserted: there is no update or delete in this module,
and on SQLite/PostgreSQL triggers refuse UPDATE and DELETE (``install_guards``), so an ordinary
admin cannot edit the record through the platform. Pruning by the retention period is the one
exception and goes through ``prune`` (which lifts the guard for that statement only).
Each row carries a hash chained to the previous row, so a gap or an edit made behind the
platform's back is evident (``verify``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Engine, String, Text, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.csv_safe import Cell, write_csv
from core.db import Base, UTCDateTime

__all__ = ["AuditEntry", "AuditLog"]


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | denied | failed
    source_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[str | None] = mapped_column(Text, default=None)  # JSON, never personal data
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None
    outcome: str
    source_ip: str | None
    details: str | None


def _digest(
    prev: str,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    outcome: str,
    source_ip: str | None,
    details: str | None,
) -> str:
    material = "\x1f".join(
        [
            prev,
            at.isoformat(),
            actor,
            action,
            target_type,
            target_id or "",
            outcome,
            source_ip or "",
            details or "",
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_GUARDS_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "WHEN (SELECT count(*) FROM audit_prune_permit) = 0 "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
]


# On PostgreSQL the permit is a transaction-local setting that only ``prune`` sets.
_GUARDS_POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE'
           AND current_setting('kommunvakt.audit_prune', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit log is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()

    @staticmethod
    def install_guards(engine: Engine) -> None:
        """Refuse UPDATE and DELETE on the audit table at the database (SQLite, PostgreSQL)."""
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                for stmt in _GUARDS_POSTGRES:
                    conn.execute(text(stmt))
            return
        if engine.dialect.name != "sqlite":
            return
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS audit_prune_permit (x INTEGER)"))
            for stmt in _GUARDS_SQLITE:
                conn.execute(text(stmt))

    def record(
        self,
        at: datetime,
        actor: str,
        action: str,
        target_type: str,
        target_id: str | None = None,
        *,
        outcome: str = "allowed",
        source_ip: str | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        detail_text = orjson.dumps(details).decode() if details else None
        # the target may come from a URL anyone can send: never longer than its column
        actor, target_id = _clip(actor, 100), _clip(target_id, 100) if target_id else target_id
        with self._lock, self._sessions() as s:
            last = s.scalars(select(AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)).first()
            prev = last or "0" * 64
            digest = _digest(
                prev, at, actor, action, target_type, target_id, outcome, source_ip, detail_text
            )
            s.add(
                AuditRow(
                    at=at,
                    actor=actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    outcome=outcome,
                    source_ip=source_ip,
                    details=detail_text,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            s.commit()

    def entries(
        self,
        *,
        actor: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        query = select(AuditRow)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if target_type is not None:
            query = query.where(AuditRow.target_type == target_type)
        if target_id is not None:
            query = query.where(AuditRow.target_id == target_id)
        if action is not None:
            query = query.where(AuditRow.action == action)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if until is not None:
            query = query.where(AuditRow.at < until)
        with self._sessions() as s:
            rows = s.scalars(query.order_by(AuditRow.id).limit(limit))
            return [
                AuditEntry(
                    r.id,
                    r.at,
                    r.actor,
                    r.action,
                    r.target_type,
                    r.target_id,
                    r.outcome,
                    r.source_ip,
                    r.details,
                )
                for r in rows
            ]

    def verify(self) -> bool:
        """True when every row's hash matches its content and the previous row's hash."""
        with self._sessions() as s:
            prev: str | None = None
            for r in s.scalars(select(AuditRow).order_by(AuditRow.id)):
                if prev is not None and r.prev_hash != prev:
                    return False
                expected = _digest(
                    r.prev_hash,
                    r.at,
                    r.actor,
                    r.action,
                    r.target_type,
                    r.target_id,
                    r.outcome,
                    r.source_ip,
                    r.details,
                )
                if expected != r.hash:
                    return False
                prev = r.hash
        return True

    def prune(self, older_than: timedelta, now: datetime) -> int:
        """The retention job: the one way rows leave the log."""
        with self._lock, self._sessions() as s:
            dialect = s.get_bind().dialect.name
            sqlite = dialect == "sqlite"
            if sqlite:
                s.execute(text("INSERT INTO audit_prune_permit VALUES (1)"))
            elif dialect == "postgresql":
                s.execute(text("SELECT set_config('kommunvakt.audit_prune', 'on', true)"))
            result = s.execute(delete(AuditRow).where(AuditRow.at < now - older_than))
            if sqlite:
                s.execute(text("DELETE FROM audit_prune_permit"))
            s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def to_csv(entries: Iterable[AuditEntry]) -> str:
        """Targets and actors may be typed by anyone who can reach the sign-in page: every
        cell through ``write_csv`` so that a spreadsheet shows them and runs nothing."""
        header: list[Cell] = [
            "id",
            "at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "outcome",
            "source_ip",
            "details",
        ]
        rows: Iterable[list[Cell]] = (
            [
                e.id,
                e.at.isoformat(),
                e.actor,
                e.action,
                e.target_type,
                e.target_id or "",
                e.outcome,
                e.source_ip or "",
                e.details or "",
            ]
            for e in entries
        )
        return write_csv([header, *rows])

    @staticmethod
    def to_json(entries: Iterable[AuditEntry]) -> bytes:
        return orjson.dumps([asdict(e) for e in entries])
