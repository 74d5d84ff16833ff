"""Tonight's checks per care unit and status as InfluxDB line protocol: the only care data
that may reach Grafana (counts, no resident, no label, no time of a single check).

Measurement ``supervision_checks``, tags ``care_unit`` and ``status``, field ``count``. Every
known unit gets every status, zeros included, so a panel shows 0 rather than "no data".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ingest.line_protocol import to_ms

__all__ = ["MEASUREMENT", "STATUSES", "count_lines"]

MEASUREMENT = "supervision_checks"
STATUSES = (
    "scheduled",
    "ok",
    "recheck_pending",
    "escalated",
    "resolved",
    "missed",
    "technical_failure",
    "suspended",
    "skipped_by_resident",
    "cancelled",
)


def _tag(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def count_lines(
    counts: Mapping[str, Mapping[str, int]], units: Iterable[str], now: datetime
) -> list[str]:
    ms = to_ms(now)
    all_units = sorted(set(units) | set(counts))
    return [
        f"{MEASUREMENT},care_unit={_tag(unit)},status={status} "
        f"count={counts.get(unit, {}).get(status, 0)}i {ms}"
        for unit in all_units
        for status in STATUSES
    ]
