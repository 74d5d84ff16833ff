"""The morning e-mail of yesterday's temperature record, through apprise.

A platform ticker: once a day, at the configured Europe/Stockholm wall-clock time, each site
with freezers or fridges gets one message with yesterday's figures as text and the month so far
as a CSV attachment. The date of the last send is kept in the data directory, so a restart
neither sends twice nor forgets a morning the platform was down for (it sends when it is back).
A time in the spring DST gap (02:00-03:00) simply sends at 03:00.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import apprise

from dashboards.record_export import record_csv, record_text
from dashboards.record_service import build_site_record

__all__ = ["DailyRecordMailer", "build_record_mailer"]

log = logging.getLogger(__name__)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


class DailyRecordMailer:
    def __init__(
        self,
        *,
        urls: Sequence[str],
        send_at: time,
        registry: Any,
        store: Any,
        alert_store: Any,
        limits: Mapping[str, float],
        state_file: Path | None = None,
        tz: ZoneInfo = STOCKHOLM,
    ) -> None:
        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                raise ValueError("record_mail_urls: not a valid apprise URL (not logged)")
        for server in self._apprise:
            # apprise paces e-mail to one per ~5.5 s; a handful of sites a morning is fine
            server.request_rate_per_sec = 0
        self.send_at, self.tz = send_at, tz
        self._registry, self._store, self._alerts = registry, store, alert_store
        self._limits = dict(limits)
        self._state_file = state_file
        self._last: date | None = self._read_state()
        self._lock = threading.Lock()

    def _read_state(self) -> date | None:
        try:
            return date.fromisoformat(self._state_file.read_text().strip())  # type: ignore[union-attr]
        except (AttributeError, OSError, ValueError):
            return None

    def due(self, now: datetime) -> date | None:
        """The local day a send is due for at ``now``, or None."""
        local = now.astimezone(self.tz)
        if local.time() < self.send_at or self._last == local.date():
            return None
        return local.date()

    def __call__(self, now: datetime) -> None:
        """The ticker: cheap when nothing is due; the sending runs off the clock thread."""
        with self._lock:
            today = self.due(now)
            if today is None:
                return
            self._last = today  # one attempt a day, success or not (results are logged)
            if self._state_file is not None:
                self._state_file.write_text(today.isoformat() + "\n")
        threading.Thread(target=self.send, args=(now,), name="record-mail", daemon=True).start()

    def send(self, now: datetime) -> dict[str, bool]:
        """Send yesterday's record of every site with record devices; site id -> delivered."""
        day = (now.astimezone(self.tz) - timedelta(days=1)).date()
        results: dict[str, bool] = {}
        for site in self._registry.list_sites():
            devices, _ = self._registry.list(site_id=site.id, limit=10_000)
            if not any(d.type in self._limits for d in devices):
                continue
            record = build_site_record(
                registry=self._registry,
                store=self._store,
                alert_store=self._alerts,
                site_id=site.id,
                year=day.year,
                month=day.month,
                limits=self._limits,
                now=now,
            )
            with tempfile.TemporaryDirectory(prefix="kv-record-") as tmp:
                path = Path(tmp) / f"temperaturlogg-{site.id}-{record.month}.csv"
                path.write_bytes(record_csv(record))
                ok = bool(
                    self._apprise.notify(
                        title=f"Temperaturlogg {record.site_name} {day.isoformat()}",
                        body=record_text(record, day_filter=day.isoformat()),
                        attach=apprise.AppriseAttachment(str(path)),
                    )
                )
            results[site.id] = ok
            if ok:
                log.info("daily record of site %s for %s sent", site.id, day)
            else:
                log.warning("daily record of site %s for %s not delivered", site.id, day)
        return results


def build_record_mailer(
    *,
    urls: Sequence[str],
    send_at: time,
    registry: Any,
    store: Any,
    alert_store: Any,
    limits: Mapping[str, float],
    data_dir: Path,
) -> DailyRecordMailer | None:
    """The mailer for the platform's tickers, or None when no ``record_mail_urls`` are set."""
    if not urls:
        return None
    return DailyRecordMailer(
        urls=urls,
        send_at=send_at,
        registry=registry,
        store=store,
        alert_store=alert_store,
        limits=limits,
        state_file=data_dir / "record_mail_last_sent",
    )
