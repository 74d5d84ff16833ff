"""The reading-store seam: what the pipeline writes to and the API reads from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ingest.reading import Value

__all__ = ["LatestValue", "ReadingStore", "StoredReading"]


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading bound to a registered device (``device_id``, not the source's ref)."""

    device_id: str
    time: datetime
    metric: str
    value: Value
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class LatestValue:
    metric: str
    value: Value
    unit: str | None
    time: datetime


class ReadingStore(Protocol):
    def write(self, readings: Sequence[StoredReading]) -> None:
        """Store a batch durably, or raise ``StoreError``. Writing the same reading
        (device, metric, time) twice stores it once."""

    def latest(self, device_id: str) -> list[LatestValue]: ...

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...
