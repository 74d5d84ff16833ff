"""Retention: check records, absences, care devices' readings and audit entries are erased
when older than their periods (the readings keep as long as the checks they decided)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from supervision.absences import AbsenceBook
from supervision.checks import CheckBook
from supervision.records import CareReadings
from supervision.schedule import night_of
from supervision.settings import SupervisionSettings

__all__ = ["PrunableAudit", "Retention"]

log = logging.getLogger(__name__)


class PrunableAudit(Protocol):
    def prune(self, older_than: timedelta, now: datetime) -> int: ...


class Retention:
    def __init__(
        self,
        settings: SupervisionSettings,
        *,
        checks: CheckBook,
        absences: AbsenceBook,
        audit: PrunableAudit,
        care_readings: CareReadings | None,
        lock: threading.RLock,
    ) -> None:
        self._settings = settings
        self._zone = ZoneInfo(settings.timezone)
        self._checks = checks
        self._absences = absences
        self._audit = audit
        self._care_readings = care_readings
        #: the check lock: a check is not erased while the machine moves it
        self._lock = lock
        self._next = datetime.min.replace(tzinfo=UTC)

    def tick(self, now: datetime) -> None:
        """Clock: run when ``retention_interval_s`` has passed since the last run."""
        if now >= self._next:
            self._next = now + timedelta(seconds=self._settings.retention_interval_s)
            self.run(now)

    def run(self, now: datetime) -> dict[str, int]:
        st = self._settings
        cutoff = now - timedelta(days=st.check_retention_days)
        with self._lock:
            checks = self._checks.prune(
                night_of(now, self._zone) - timedelta(days=st.check_retention_days)
            )
            absences = self._absences.prune(cutoff)
        readings = 0
        if self._care_readings is not None:
            readings = int(self._care_readings.prune(cutoff))
        audit = int(self._audit.prune(timedelta(days=st.audit_retention_days), now))
        if checks or absences or readings or audit:
            log.info(
                "retention: erased %d check(s), %d absence(s), %d care reading(s), "
                "%d audit entries",
                checks,
                absences,
                readings,
                audit,
            )
        return {"checks": checks, "absences": absences, "readings": readings, "audit": audit}
