"""Dead letters: every rejected message, with its reason, kept for a while and then pruned.

A dead letter carries the site of the device it came from (None when no registered device
could be named): lists are filtered by it in SQL (``access.scope.site_clause``), so a
site's technician sees only their sites' refused messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, String, Text, delete, func, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.db import Base, UTCDateTime

__all__ = ["DeadLetter", "DeadLetterRow", "DeadLetterStore", "Letter"]

#: Payload bytes kept per dead letter; a 1 MB payload must not fill the database.
KEPT_PAYLOAD_BYTES = 2048


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    topic: Mapped[str] = mapped_column(String(500))
    payload: Mapped[str] = mapped_column(Text)
    payload_bytes: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    site_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)


#: (received at, topic, payload, reason, site of the device or None)
Letter = tuple[datetime, str, bytes, str, str | None]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    received_at: datetime
    topic: str
    payload: str
    payload_bytes: int
    reason: str
    site_id: str | None = None


def truncate_payload(payload: bytes, limit: int = KEPT_PAYLOAD_BYTES) -> str:
    text = payload[:limit].decode("utf-8", "replace")
    return text + ("…" if len(payload) > limit else "")


class DeadLetterStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add_many(self, letters: list[Letter]) -> None:
        if not letters:
            return
        with self._sessions() as s:
            s.add_all(
                DeadLetterRow(
                    received_at=at,
                    topic=topic[:500],
                    payload=truncate_payload(payload),
                    payload_bytes=len(payload),
                    reason=reason[:500],
                    site_id=site_id,
                )
                for at, topic, payload, reason, site_id in letters
            )
            s.commit()

    def list(
        self, limit: int = 100, offset: int = 0, where: ColumnElement[bool] | None = None
    ) -> list[DeadLetter]:
        """``where``: a condition on ``DeadLetterRow`` (a caller's scope); None: all."""
        query = select(DeadLetterRow).where(true() if where is None else where)
        with self._sessions() as s:
            rows = s.scalars(query.order_by(DeadLetterRow.id.desc()).offset(offset).limit(limit))
            return [
                DeadLetter(
                    r.id, r.received_at, r.topic, r.payload, r.payload_bytes, r.reason, r.site_id
                )
                for r in rows
            ]

    def count(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(DeadLetterRow)) or 0)

    def prune(self, older_than: timedelta, now: datetime) -> int:
        with self._sessions() as s:
            result = s.execute(
                delete(DeadLetterRow).where(DeadLetterRow.received_at < now - older_than)
            )
            s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]
