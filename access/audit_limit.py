"""How many audit rows an unauthenticated client may cause: one per source per minute.

Every refused request without valid credentials is on record, but a client that sends
thousands of them must not be able to grow the log (and its hash chain) at will. The first
401 of a source in a minute is written; the others in that minute are counted, and the count
goes into the source's next written row (``"repeats_before"``), so nothing is lost from view.
Pure: the caller passes the time in.
"""

from __future__ import annotations

import threading
from datetime import datetime

__all__ = ["AnonymousAuditLimit"]


class AnonymousAuditLimit:
    def __init__(self, max_sources: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._max_sources = max_sources
        # source -> (minute it was last written, refusals since then not written)
        self._seen: dict[str, tuple[datetime, int]] = {}

    def admit(self, source: str, now: datetime) -> int | None:
        """None: count this one, write nothing. Otherwise write a row now, noting the number
        of refusals of this source that were counted and not written before it."""
        minute = now.replace(second=0, microsecond=0)
        with self._lock:
            last = self._seen.get(source)
            if last is not None and last[0] == minute:
                self._seen[source] = (minute, last[1] + 1)
                return None
            if last is None and len(self._seen) >= self._max_sources:
                self._forget_before(minute)
            self._seen[source] = (minute, 0)
            return last[1] if last is not None else 0

    def _forget_before(self, minute: datetime) -> None:
        stale = [s for s, (m, _n) in self._seen.items() if m < minute]
        for s in stale:
            del self._seen[s]
        if len(self._seen) >= self._max_sources:
            # a flood from that many sources within one minute: keep the newest half
            for s in list(self._seen)[: self._max_sources // 2]:
                del self._seen[s]
