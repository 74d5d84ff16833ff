"""What moves the live night board: a count of the changes a board shows.

The board's stream re-renders when the count moves (``supervision.web``). A change made here
bumps it and is announced through ``announce`` (when given); a change announced by another
instance sharing the database is counted with ``seen`` — on PostgreSQL ``gateway.board_notify``
carries both over ``LISTEN/NOTIFY``, so a board open on one instance shows an outcome recorded
through another. On SQLite (one instance) the count is all there is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["BoardChanges"]

log = logging.getLogger(__name__)


class BoardChanges:
    def __init__(self, announce: Callable[[], None] | None = None) -> None:
        self._announce = announce
        self._version = 0
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        return self._version

    def bump(self) -> None:
        """A change made here: count it, and tell the other instances."""
        self.seen()
        if self._announce is not None:
            self._announce()

    def seen(self) -> None:
        """A change made elsewhere (or possibly missed while not listening): count it."""
        with self._lock:
            self._version += 1
