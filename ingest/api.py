"""REST routes of ingest: dead letters and payload decoding for technicians."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from access.auth import RequireUser
from access.scope import site_clause
from core.bounds import Offset
from ingest.deadletters import DeadLetterRow
from ingest.deps import DeadLetters

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["ingest"])


@router.get("/dead-letters")
def dead_letters(
    store: DeadLetters,
    user: RequireUser,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "received_at": d.received_at,
            "topic": d.topic,
            "payload": d.payload,
            "payload_bytes": d.payload_bytes,
            "reason": d.reason,
            "site_id": d.site_id,
        }
        for d in store.list(limit, offset, where=site_clause(user, DeadLetterRow.site_id))
    ]
