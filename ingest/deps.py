"""The dead-letter store (``DeadLetters``) and the reading store (``Readings``) as route
dependencies; ``gateway.deps.wire`` provides them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from access.deps import NotWired
from ingest.deadletters import DeadLetterStore
from ingest.store import ReadingStore

__all__ = ["DeadLetters", "Readings", "dead_letter_store", "reading_store"]


def dead_letter_store() -> DeadLetterStore:
    raise NotWired("ingest.deps.dead_letter_store")


DeadLetters = Annotated[DeadLetterStore, Depends(dead_letter_store)]


def reading_store() -> ReadingStore:
    """The platform's store (care readings kept apart, ``ingest.care_store``)."""
    raise NotWired("ingest.deps.reading_store")


Readings = Annotated[ReadingStore, Depends(reading_store)]
