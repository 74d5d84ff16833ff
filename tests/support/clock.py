"""A wall clock moved to another moment: the platform under test lives at a night's check time
while real time (sockets, timeouts, the browser) runs on."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["ShiftedClock"]


class ShiftedClock:
    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)
