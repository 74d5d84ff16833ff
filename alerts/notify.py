"""Notification delivery through apprise, off the hot path, with every result recorded.

Each configured apprise URL is one channel; a send returns a result that is written to the
delivery log, never dropped. With no URL configured, notifications go to the log.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import apprise

from alerts.store import DeliveryRecord

__all__ = ["Notification", "Notifier"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notification:
    alert_id: int
    kind: str  # fire | change | resolve | reminder
    title: str
    body: str
    severity: str | None


class _Channel:
    def __init__(self, url: str) -> None:
        self.apprise = apprise.Apprise()
        if not self.apprise.add(url):
            raise ValueError("not a valid apprise URL (the URL itself is not logged)")
        server = self.apprise[0]
        # apprise throttles many services (e-mail among them) to one send per ~5.5 s; an
        # urgent alert must not wait behind a reminder, so we pace ourselves instead.
        server.request_rate_per_sec = 0
        self.name = server.url(privacy=True)


class Notifier:
    def __init__(
        self,
        urls: Sequence[str],
        record: Callable[[DeliveryRecord], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._channels = [_Channel(u) for u in urls]
        self._record = record
        self._clock = clock
        self._queue: queue.Queue[Notification | None] = queue.Queue(maxsize=10_000)
        self._thread: threading.Thread | None = None
        self.sent_ok = 0
        self.sent_failed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)

    def submit(self, note: Notification) -> None:
        self._queue.put(note)

    def _run(self) -> None:
        while True:
            note = self._queue.get()
            if note is None:
                return
            self.deliver(note)

    def deliver(self, note: Notification) -> None:
        if not self._channels:
            log.warning("ALERT %s: %s", note.title, note.body)
            self._record(DeliveryRecord(note.alert_id, self._clock(), note.kind, "log", True, None))
            self.sent_ok += 1
            return
        for channel in self._channels:
            error = None
            try:
                ok = bool(channel.apprise.notify(body=note.body, title=note.title))
                if not ok:
                    error = "the channel refused or could not be reached (see the log)"
            except Exception as exc:  # a channel's failure must not stop the others
                ok, error = False, f"{type(exc).__name__}: {exc}"
            if ok:
                self.sent_ok += 1
            else:
                self.sent_failed += 1
                log.warning(
                    "delivery of alert %s to %s failed: %s", note.alert_id, channel.name, error
                )
            self._record(
                DeliveryRecord(note.alert_id, self._clock(), note.kind, channel.name, ok, error)
            )
