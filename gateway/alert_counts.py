"""Open-alert counts (and care devices as counts) into InfluxDB once a minute, for Grafana.

Alerts live in the platform's SQL store; Grafana reads InfluxDB. Each minute the clock thread
counts the open alerts per (site, state, severity), including zeros so a panel shows 0 rather
than "no data", and hands the lines to a small writer thread: the clock thread must never wait
for InfluxDB (escalations run on it). A minute that cannot be written is dropped: these are
gauges, the next minute carries the truth again.

Care devices' readings never reach InfluxDB (``ingest.care_store``), so the care panel reads
counts the platform writes here: per care unit, how many care devices there are and how many
report (``care_device_count_lines``), never a device, a place or a value.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from dashboards.grafana.queries import ALERTS_MEASUREMENT, CARE_DEVICES_MEASUREMENT, OFFLINE_FACTOR
from devices.catalogue import is_care_device
from devices.registry import DeviceInfo
from ingest.errors import StoreError
from ingest.line_protocol import to_ms

__all__ = ["AlertCountWriter", "alert_count_lines", "care_device_count_lines"]

log = logging.getLogger(__name__)

STATES = ("active", "acknowledged")
SEVERITIES = ("warning", "critical")
NO_SITE = "-"


def _tag(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def alert_count_lines(
    open_alerts: Iterable[tuple[str | None, str, str]], sites: Iterable[str], now: datetime
) -> list[str]:
    """``open_alerts`` are (site, state, severity) triples; every site gets every combination."""
    counts = Counter((site or NO_SITE, state, sev) for site, state, sev in open_alerts)
    keys = {(site, state, sev) for site in sites for state in STATES for sev in SEVERITIES}
    keys |= set(counts)
    ms = to_ms(now)
    return [
        f"{ALERTS_MEASUREMENT},severity={_tag(sev)},site={_tag(site)},state={_tag(state)} "
        f"open={counts.get((site, state, sev), 0)}i {ms}"
        for site, state, sev in sorted(keys)
    ]


def care_device_count_lines(
    devices: Iterable[DeviceInfo],
    units: Iterable[str],
    last_seen: Mapping[str, datetime],
    now: datetime,
) -> list[str]:
    """Per care unit: active care devices (``devices``) and those heard within
    ``OFFLINE_FACTOR`` expected intervals (``reporting``); every known unit, zeros included."""
    totals: Counter[str] = Counter()
    reporting: Counter[str] = Counter()
    for d in devices:
        if not is_care_device(d.type, d.care_unit_id) or d.state == "retired":
            continue
        unit = d.care_unit_id or NO_SITE
        totals[unit] += 1
        seen = last_seen.get(d.id)
        if seen is not None and (now - seen).total_seconds() <= OFFLINE_FACTOR * (
            d.expected_interval_s
        ):
            reporting[unit] += 1
    ms = to_ms(now)
    return [
        f"{CARE_DEVICES_MEASUREMENT},care_unit={_tag(unit)} "
        f"devices={totals[unit]}i,reporting={reporting[unit]}i {ms}"
        for unit in sorted(set(units) | set(totals))
    ]


class AlertCountWriter:
    def __init__(
        self,
        collect: Callable[[datetime], list[str]],
        write_lines: Callable[[Sequence[str]], None],
        every_s: float = 60.0,
    ) -> None:
        self._collect = collect
        self._write_lines = write_lines
        self.every_s = every_s
        self._last: datetime | None = None
        self._queue: queue.Queue[list[str] | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="alert-counts", daemon=True)
        self._thread.start()

    def tick(self, now: datetime) -> None:
        """Called by the platform clock each second."""
        if self._last is not None and (now - self._last).total_seconds() < self.every_s:
            return
        self._last = now
        try:
            self._queue.put_nowait(self._collect(now))
        except queue.Full:
            log.debug("alert counts: the previous minute is still being written; skipped")

    def _run(self) -> None:
        while True:
            lines = self._queue.get()
            if lines is None:
                return
            try:
                self._write_lines(lines)
            except StoreError as exc:
                log.warning("alert counts not written: %s", exc)

    def stop(self) -> None:
        try:
            self._queue.put(None, timeout=2)
        except queue.Full:
            return
        self._thread.join(timeout=15)
