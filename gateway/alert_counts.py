"""Open-alert counts into InfluxDB once a minute, for Grafana's alert panels.

Alerts live in the platform's SQL store; Grafana reads InfluxDB. Each minute the clock thread
counts the open alerts per (site, state, severity), including zeros so a panel shows 0 rather
than "no data", and hands the lines to a small writer thread: the clock thread must never wait
for InfluxDB (escalations run on it). A minute that cannot be written is dropped: these are
gauges, the next minute carries the truth again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from dashboards.grafana.queries import ALERTS_MEASUREMENT
from ingest.errors import StoreError
from ingest.line_protocol import to_ms

__all__ = ["AlertCountWriter", "alert_count_lines"]

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
