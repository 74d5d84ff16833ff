"""The production reading store: InfluxDB 2 through influxdb-client, synchronous writes only.

Why synchronous: the client's batching ``WriteApi`` has no bound and no backpressure, its
``flush()`` does not wait, and its errors surface only in callbacks (PERFORMANCE.md §2.3), so
it cannot tell us when a batch is safe. We write our own batches with the ``SYNCHRONOUS``
write API, gzip-compressed, and know on return whether InfluxDB took them. Batching over time
and riding out outages is the spool's job (``ingest.spool``), which wraps this store.

Errors are translated here and only here: a 400/422 (InfluxDB refused the points themselves)
is ``StoreRejected``; anything else (no connection, timeout, 5xx, 401, 429) is ``StoreError``
and worth retrying. Reads are Flux with bound parameters, never string-built from input.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.bucket_retention_rules import BucketRetentionRules
from influxdb_client.rest import ApiException

from devices.catalogue import CATALOGUE, is_care_device
from devices.reading import CANONICAL_UNITS, Value
from devices.registry import DeviceRegistry
from ingest.errors import StoreError, StoreRejected
from ingest.line_protocol import EPOCH, UNREGISTERED, SeriesTags, TagLookup, to_lines
from ingest.store import HistoryBucket, LatestValue, StoredReading

__all__ = ["READING_MEASUREMENTS", "InfluxReadingStore", "registry_tags"]

#: ``WritePrecision.MS``, typed as the client annotates it (the constant itself is a str)
_MS: Any = "ms"

log = logging.getLogger(__name__)

# influxdb-client sends each parameter as an ``option <name> = <value>`` statement in the
# query's ``extern`` (it does not fill the API's ``params``), so the Flux names them directly.
_HISTORY = """
from(bucket: bucket)
  |> range(start: start, stop: stop)
  |> filter(fn: (r) => r.device == device and r._field == metric)
  |> keep(columns: ["_time", "_value", "_field"])
  |> group()
  |> sort(columns: ["_time"])
"""

# A device's series split when it moves site or place; last() per series, then the newest per
# field across them.
_LATEST = """
from(bucket: bucket)
  |> range(start: start)
  |> filter(fn: (r) => r.device == device)
  |> last()
  |> keep(columns: ["_time", "_value", "_field"])
  |> group(columns: ["_field"])
  |> sort(columns: ["_time"], desc: true)
  |> limit(n: 1)
"""

# Readings only: the platform's own gauges (open alerts, care-device and night-check counts)
# share the bucket. contains() keeps the measurements a bound parameter; it is not pushed down
# to storage, which a count over the whole bucket (tests and tools, not the hot path) affords.
# count() per table first: grouping tables of float and bool values together is a schema
# collision in Flux, grouping their integer counts is not.
_COUNT = """
from(bucket: bucket)
  |> range(start: start)
  |> filter(fn: (r) => contains(value: r._measurement, set: measurements))
  |> count()
  |> group()
  |> sum()
"""

# ``HistoryBucket``s of one metric: the float readings numbered by bucket of the grid that
# starts at ``start`` (integer nanoseconds) and, with a gap, by stretch without a silence
# longer than it (a running sum of "silence before this reading"); one row per (bucket,
# stretch) and statistic. min() and max() keep the first of equal values, as the SQLite
# store does.
_BUCKETS = """
import "types"

data = from(bucket: bucket)
  |> range(start: start, stop: stop)
  |> filter(fn: (r) => r.device == device and r._field == metric)
  |> filter(fn: (r) => types.isType(v: r._value, type: "float"))
  |> keep(columns: ["_time", "_value"])
  |> group()
  |> sort(columns: ["_time"])
  |> map(fn: (r) => ({r with b: (int(v: r._time) - int(v: start)) / step, dt: int(v: r._time)}))
  |> difference(columns: ["dt"], keepFirst: true)
  |> map(fn: (r) => ({r with piece: if gap > 0 and exists r.dt and r.dt > gap then 1 else 0}))
  |> cumulativeSum(columns: ["piece"])
  |> group(columns: ["b", "piece"])

at = (tables=<-, stat) => tables
  |> map(fn: (r) => ({b: r.b, piece: r.piece, stat: stat, v: r._value, t: int(v: r._time)}))
of = (tables=<-, stat) => tables
  |> map(fn: (r) => ({b: r.b, piece: r.piece, stat: stat, v: float(v: r._value), t: 0}))

union(
  tables: [
    data |> min() |> at(stat: "min"),
    data |> max() |> at(stat: "max"),
    data |> first() |> at(stat: "first"),
    data |> last() |> at(stat: "last"),
    data |> count() |> of(stat: "count"),
    data |> sum() |> of(stat: "sum"),
  ],
)
  |> group()
  |> sort(columns: ["b", "piece"])
"""

#: every measurement readings are written to (``ingest.line_protocol``): one per technical
#: sensor type (care readings never reach InfluxDB), and one for devices the registry does
#: not know
READING_MEASUREMENTS = sorted([*(k for k, s in CATALOGUE.items() if not s.care), UNREGISTERED])


def registry_tags(registry: DeviceRegistry) -> TagLookup:
    """Series tags from the registry's in-memory cache (the hot path does no SQL)."""

    def lookup(device_id: str) -> SeriesTags | None:
        info = registry.info(device_id)
        if info is None:
            return None
        care = is_care_device(info.type, info.care_unit_id)
        return SeriesTags(
            measurement=info.type,
            device=info.id,
            type=info.type,
            site=info.site_id,
            place=None if care else info.place,
        )

    return lookup


def _reason(exc: ApiException) -> str:
    message = getattr(exc, "message", None) or exc.reason or ""
    return f"HTTP {exc.status}: {str(message)[:300]}"


class InfluxReadingStore:
    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        tags_for: TagLookup,
        retention_days: int = 0,
        timeout_ms: int = 10_000,
        gzip: bool = True,
    ) -> None:
        self.url, self.org, self.bucket = url, org, bucket
        self.retention_days = retention_days
        self._tags_for = tags_for
        # retries=False: urllib3 must not retry behind our back; the spool decides when.
        self._client = InfluxDBClient(
            url=url, token=token, org=org, timeout=timeout_ms, enable_gzip=gzip, retries=False
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._query_api = self._client.query_api()
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    # -- writing --------------------------------------------------------------------------

    def write(self, readings: Sequence[StoredReading]) -> None:
        if not readings:
            return
        lines = to_lines(readings, self._tags_for)
        if not lines:
            return
        self.ensure_bucket()
        try:
            # one string, not a list: the client serialises list items one by one (~9 µs each)
            self._write_api.write(
                bucket=self.bucket,
                org=self.org,
                record="\n".join(lines),
                write_precision=_MS,
            )
        except ApiException as exc:
            if exc.status in (400, 422):
                raise StoreRejected(
                    f"InfluxDB refused {len(lines)} points: {_reason(exc)}"
                ) from exc
            raise StoreError(f"InfluxDB write failed: {_reason(exc)}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(f"InfluxDB at {self.url} unreachable: {exc}") from exc

    def write_lines(self, lines: Sequence[str]) -> None:
        """Write ready line protocol (the platform's own gauges, not readings)."""
        if not lines:
            return
        self.ensure_bucket()
        try:
            self._write_api.write(
                bucket=self.bucket,
                org=self.org,
                record=list(lines),
                write_precision=_MS,
            )
        except ApiException as exc:
            raise StoreError(f"InfluxDB write failed: {_reason(exc)}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(f"InfluxDB at {self.url} unreachable: {exc}") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket with its retention if it is missing (once per process)."""
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            buckets = self._client.buckets_api()
            try:
                if buckets.find_bucket_by_name(self.bucket) is None:  # type: ignore[no-untyped-call]
                    rules = (
                        BucketRetentionRules(  # type: ignore[no-untyped-call]
                            type="expire", every_seconds=self.retention_days * 86_400
                        )
                        if self.retention_days
                        else None
                    )
                    buckets.create_bucket(
                        bucket_name=self.bucket, retention_rules=rules, org=self.org
                    )
                    log.info(
                        "created InfluxDB bucket %s (retention %s days)",
                        self.bucket,
                        self.retention_days or "infinite",
                    )
            except ApiException as exc:
                if exc.status in (400, 404, 405):
                    # a server that speaks only the write API (VictoriaMetrics, a proxy):
                    # nothing to create; the writes say whether the target exists
                    log.warning(
                        "no bucket API at %s (%s); not creating buckets", self.url, exc.status
                    )
                else:
                    raise StoreError(f"cannot check/create bucket: {_reason(exc)}") from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise StoreError(f"InfluxDB at {self.url} unreachable: {exc}") from exc
            self._bucket_ready = True

    # -- reading (Flux) -------------------------------------------------------------------

    def _query(self, flux: str, **params: Any) -> list[Any]:
        try:
            tables = self._query_api.query(
                flux, org=self.org, params={"bucket": self.bucket, **params}
            )
        except ApiException as exc:
            raise StoreError(f"InfluxDB query failed: {_reason(exc)}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError(f"InfluxDB at {self.url} unreachable: {exc}") from exc
        return [record for table in tables for record in table.records]

    def _since(self) -> datetime:
        if not self.retention_days:
            return EPOCH
        return datetime.now(UTC) - timedelta(days=self.retention_days)

    def latest(self, device_id: str) -> list[LatestValue]:
        records = self._query(_LATEST, device=device_id, start=self._since())
        out = [
            LatestValue(
                r.get_field(),
                _value(r.get_value()),
                CANONICAL_UNITS.get(r.get_field()),
                r.get_time(),
            )
            for r in records
        ]
        return sorted(out, key=lambda v: v.metric)

    def history(
        self, device_id: str, metric: str, start: datetime, end: datetime
    ) -> list[StoredReading]:
        records = self._query(_HISTORY, device=device_id, metric=metric, start=start, stop=end)
        seen: dict[datetime, StoredReading] = {}
        for r in records:
            when = r.get_time()
            seen[when] = StoredReading(
                device_id, when, metric, _value(r.get_value()), CANONICAL_UNITS.get(metric)
            )
        return [seen[t] for t in sorted(seen)]

    def history_buckets(
        self,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        bucket_s: float,
        split_gap_s: float | None = None,
    ) -> list[HistoryBucket]:
        """``BucketedHistory`` in Flux: min/max per bucket computed by InfluxDB, not 43,200 rows
        of a month of minute readings through the client. Same buckets as the SQLite store's."""
        if bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        step = round(bucket_s * 1e9)
        gap = 0 if split_gap_s is None else round(split_gap_s * 1e9)
        records = self._query(
            _BUCKETS, device=device_id, metric=metric, start=start, stop=end, step=step, gap=gap
        )
        stats: dict[tuple[int, int], dict[str, tuple[float, int]]] = {}
        for r in records:
            stats.setdefault((int(r["b"]), int(r["piece"])), {})[r["stat"]] = (
                float(r["v"]),
                int(r["t"]),
            )
        origin, unit = start.timestamp(), CANONICAL_UNITS.get(metric)
        out = []
        for (b, _piece), got in sorted(stats.items()):
            n = int(got["count"][0])
            out.append(
                HistoryBucket(
                    origin + b * bucket_s,
                    n,
                    got["min"][0],
                    got["min"][1] / 1e9,
                    got["max"][0],
                    got["max"][1] / 1e9,
                    got["sum"][0] / n,
                    got["first"][1] / 1e9,
                    got["last"][1] / 1e9,
                    unit,
                )
            )
        return out

    def count(self) -> int:
        records = self._query(_COUNT, start=EPOCH, measurements=READING_MEASUREMENTS)
        return int(sum(r.get_value() or 0 for r in records))

    def close(self) -> None:
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]


def _value(raw: object) -> Value:
    if isinstance(raw, bool | float | str):
        return raw
    if isinstance(raw, int):
        return float(raw)
    return str(raw)
