"""Care readings kept apart: the store the platform writes to and reads from.

A care device (a sensor type with ``care=True``: the bed sensor of night checks, the safety
alarm button) is bound to a resident, so what it says is personal data (a sleep pattern, a
fall). ``CareSplitStore`` sends those readings to their own SQLite store
(``data_dir/care_readings.db``) and everything else to the telemetry store, whichever that is
(SQLite, or InfluxDB behind the spool): care readings never reach InfluxDB, so Grafana and
its Explore view cannot see them. Reads of a care device go to the care store.

``write`` splits a batch by device and returns only when both parts are stored; either part
failing raises, so the pipeline acknowledges nothing and the broker delivers the batch again
(both stores are idempotent on device, metric and time). Which devices are care is asked of
``is_care`` (the registry's in-memory cache in the platform: no SQL on the hot path), once
per device per batch.

Once care, always care: a device with readings in the care store stays there whatever its
type or care unit becomes later (a bed sensor re-typed as ``motion`` still says whether a
resident is in bed), so a change in the registry never sends a person's readings, old or
new, to the telemetry store where facility staff and Grafana read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ingest.sqlite_store import SqliteReadingStore
from ingest.store import (
    BucketedHistory,
    HistoryBucket,
    LatestValue,
    ReadingStore,
    StoredReading,
)

__all__ = ["CARE_FILE", "CareSplitStore"]

CARE_FILE = "care_readings.db"


def _heard(r: StoredReading) -> tuple[datetime, datetime]:
    """The order of "latest": received last, then the newest by the device's own time."""
    return (r.received_at or r.time, r.time)


class CareSplitStore:
    def __init__(
        self,
        telemetry: ReadingStore,
        care: SqliteReadingStore,
        is_care: Callable[[str], bool],
        may_store: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.telemetry = telemetry
        self.care = care
        self.is_care = is_care
        #: devices with readings in the care store (see the module docstring)
        self._was_care: set[str] = care.device_ids()
        #: (device id, metric) → may this care reading be kept? None keeps all. The root
        #: passes e-supervision's: a bed sensor's ``in_bed`` only with a bound resident's consent.
        self.may_store = may_store
        #: care readings not stored because ``may_store`` said no (for ``/metrics``)
        self.withheld = 0

    def write(self, readings: Sequence[StoredReading]) -> None:
        if not readings:
            return
        decided: dict[str, bool] = {}
        care: list[StoredReading] = []
        other: list[StoredReading] = []
        for r in readings:
            flag = decided.get(r.device_id)
            if flag is None:
                flag = decided[r.device_id] = self._care_device(r.device_id)
            (care if flag else other).append(r)
        if not care:
            self.telemetry.write(readings)  # the common batch: no copy
            return
        may_store = self.may_store
        seen: dict[str, StoredReading] = {}
        if may_store is not None:
            kept = []
            for r in care:
                if may_store(r.device_id, r.metric):
                    kept.append(r)
                else:
                    last = seen.get(r.device_id)
                    if last is None or _heard(r) >= _heard(last):
                        seen[r.device_id] = r
            self.withheld += len(care) - len(kept)
            care = kept
        if seen:
            # what was withheld still shows the device is alive (device health, the care
            # panel's "reporting"): one latest "online" per device, no history, no content
            marks = [
                StoredReading(d, r.time, "online", True, received_at=r.received_at)
                for d, r in seen.items()
            ]
            self.care.write(marks, latest_only=True)
        if care:
            self.care.write(care)
        self._was_care.update(d for d, flag in decided.items() if flag)
        if other:
            self.telemetry.write(other)

    def _care_device(self, device_id: str) -> bool:
        return device_id in self._was_care or self.is_care(device_id)

    def _for(self, device_id: str) -> ReadingStore:
        return self.care if self._care_device(device_id) else self.telemetry

    def latest(self, device_id: str) -> list[LatestValue]:
        return self._for(device_id).latest(device_id)

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]:
        return self._for(device_id).history(device_id, metric, start, end)

    def history_buckets(
        self,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        bucket_s: float,
        split_gap_s: float | None = None,
    ) -> Sequence[HistoryBucket] | None:
        """``BucketedHistory`` from the device's own store where that store has it (the
        embedded SQLite store, InfluxDB behind the spool); ``None`` where it has not: the
        caller then reads ``history``."""
        inner = self._for(device_id)
        if not isinstance(inner, BucketedHistory):
            return None
        return inner.history_buckets(
            device_id, metric, start, end, bucket_s, split_gap_s=split_gap_s
        )

    def count(self) -> int:
        return self.telemetry.count() + self.care.count()

    def close(self) -> None:
        try:
            self.telemetry.close()
        finally:
            self.care.close()
