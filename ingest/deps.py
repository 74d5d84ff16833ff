"""The dead-letter store as a route dependency (``DeadLetters``); ``gateway.deps.wire``
provides it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from access.deps import NotWired
from ingest.deadletters import DeadLetterStore

__all__ = ["DeadLetters", "dead_letter_store"]


def dead_letter_store() -> DeadLetterStore:
    raise NotWired("ingest.deps.dead_letter_store")


DeadLetters = Annotated[DeadLetterStore, Depends(dead_letter_store)]
