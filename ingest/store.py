"""The reading-store seam: what the pipeline writes to and the API reads from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from devices.reading import LatestValue, Value

__all__ = ["BucketedHistory", "HistoryBucket", "LatestValue", "ReadingStore", "StoredReading"]


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading bound to a registered device (``device_id``, not the source's ref).

    ``time`` is what the device says; ``received_at`` is when the gateway got it (``None``
    where unknown). "Latest" and device health go by ``received_at``: a device's clock can be
    wrong or forged, the order in which its messages reach us cannot."""

    device_id: str
    time: datetime
    metric: str
    value: Value
    unit: str | None = None
    received_at: datetime | None = None


class ReadingStore(Protocol):
    def write(self, readings: Sequence[StoredReading]) -> None:
        """Store a batch durably, or raise ``StoreError``. Writing the same reading
        (device, metric, time) twice stores it once. The latest value per device and metric
        is the one received last (by ``received_at``, then ``time``)."""

    def latest(self, device_id: str) -> list[LatestValue]: ...

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class HistoryBucket:
    """The numeric readings of one metric in one time bucket, aggregated where they are stored.

    Times are epoch seconds (what a chart works in). ``min_t``/``max_t`` are the times of the
    first reading with the minimum/maximum, ``first_t``/``last_t`` those of the bucket's first
    and last reading; ``unit`` is the first reading's.
    """

    start: float  # the bucket's start on the grid: origin + index * bucket_s
    count: int
    min: float
    min_t: float
    max: float
    max_t: float
    mean: float
    first_t: float
    last_t: float
    unit: str | None


@runtime_checkable
class BucketedHistory(Protocol):
    """Optional: min/max per time bucket computed by the store, so a month of minute readings
    is not read row by row. A store without it is read with ``history``."""

    def history_buckets(
        self,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        bucket_s: float,
        split_gap_s: float | None = None,
    ) -> Sequence[HistoryBucket] | None:
        """Finite numeric readings in [start, end) per ``bucket_s``-second bucket of a grid
        starting at ``start``, oldest first; empty buckets are left out. With ``split_gap_s``,
        a bucket in which two consecutive readings are more than that apart is split there
        (several entries with the same ``start``), so no entry spans a silence. ``None``: not
        available for this device (a wrapping store whose inner store cannot); read
        ``history`` instead."""
