"""Dead letters: every rejected message, with its reason, kept for a while and then pruned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from devices.db import Base, UTCDateTime

__all__ = ["DeadLetter", "DeadLetterStore"]

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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    received_at: datetime
    topic: str
    payload: str
    payload_bytes: int
    reason: str


def truncate_payload(payload: bytes, limit: int = KEPT_PAYLOAD_BYTES) -> str:
    text = payload[:limit].decode("utf-8", "replace")
    return text + ("…" if len(payload) > limit else "")


class DeadLetterStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add_many(self, letters: list[tuple[datetime, str, bytes, str]]) -> None:
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
                )
                for at, topic, payload, reason in letters
            )
            s.commit()

    def list(self, limit: int = 100, offset: int = 0) -> list[DeadLetter]:
        with self._sessions() as s:
            rows = s.scalars(
                select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).offset(offset).limit(limit)
            )
            return [
                DeadLetter(r.id, r.received_at, r.topic, r.payload, r.payload_bytes, r.reason)
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
