"""Erasure of a resident on request (GDPR art. 17): every copy of their care data goes."""

from __future__ import annotations

from datetime import datetime

from supervision.alerting import AlertSink, alert_key
from supervision.bindings import SensorBindings
from supervision.checks import CheckBook
from supervision.nightchecks import NightChecks
from supervision.records import CareReadings
from supervision.residents import ResidentBook

__all__ = ["Erasure"]


class Erasure:
    def __init__(
        self,
        night: NightChecks,
        *,
        residents: ResidentBook,
        bindings: SensorBindings,
        checks: CheckBook,
        alerts: AlertSink,
        care_readings: CareReadings | None,
    ) -> None:
        self._night = night
        self._residents = residents
        self._bindings = bindings
        self._checks = checks
        self._alerts = alerts
        self._care_readings = care_readings

    def erase_resident(self, resident_id: str, actor: str, now: datetime) -> None:
        """Erase a resident and all their care data; the audit log keeps ids.

        Every copy goes: the resident, consents, schedules, absences, checks and their notes
        (cascade), the alerts raised for their checks with their history, notes and every
        notification about them, sent or queued (no "resolved" message is sent: it would carry
        the label once more), and the readings of a sensor bound to them, from the time it
        was bound (a sensor unbound earlier is not known to be theirs any more: its readings
        go with retention). The audit log keeps the pseudonymous id, which nothing links to a
        label any more (docs/night-supervision.md).
        """
        bound = self._bindings.bound_since(resident_id)
        with self._night.lock:
            keys = [alert_key(c.id) for c in self._checks.of_resident(resident_id)]
            # first, and not swallowed: if it fails the resident is still there to erase again
            self._alerts.erase_alerts(keys)
            self._residents.delete(resident_id)
            self._night.refresh()
            if self._care_readings is not None:
                # after the binding went: whatever the sensor says from now on is nobody's
                for device_id, since in bound.items():
                    self._care_readings.erase(device_id, since)
