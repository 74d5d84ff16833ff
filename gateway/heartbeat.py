"""The dead man's switch: ping a URL (healthchecks.io, Uptime Kuma push, Grafana OnCall) every
interval while this instance is healthy; when the pings stop, the outside monitor pages the
on-call person. Nothing is pinged while unhealthy, so a hung or broken instance is noticed
the same way as a dead one.

The URL usually carries the monitor's secret: it is never logged, only its host.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

__all__ = ["Heartbeat"]

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self,
        url: str,
        interval_s: float,
        healthy: Callable[[], bool],
        *,
        timeout_s: float = 5.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("KOMMUNVAKT_HEARTBEAT_URL must be an http(s):// URL")
        self._url = url
        self._host = parts.hostname
        self._interval_s = interval_s
        self._healthy = healthy
        self._timeout_s = min(timeout_s, interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.skipped = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout_s + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._healthy():
                self._ping()
            else:
                self.skipped += 1
                log.warning("unhealthy: heartbeat to %s withheld", self._host)
            self._stop.wait(self._interval_s)

    def _ping(self) -> None:
        # the scheme is checked in __init__: http(s) only
        request = urllib.request.Request(self._url, method="GET")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as resp:  # noqa: S310
                resp.read(1024)
            self.sent += 1
        except (urllib.error.URLError, OSError) as exc:
            log.warning("heartbeat to %s failed: %s", self._host, type(exc).__name__)
