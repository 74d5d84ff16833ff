"""Telling people: the first message, severity changes, reminders, escalation, recovery.

Composes the Swedish message (``alerts.messages``), decides the routing tags (the alert's own
plus the roles the escalation ladder has reached), holds messages back during a silence (and
records that), hands the rest to the ``Notifier`` and remembers in the store what went out, so
the follow-up after a restart neither repeats nor forgets anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from alerts.followup import FollowUpPolicy, due, escalated_roles
from alerts.links import AckLinks
from alerts.messages import compose
from alerts.notify import Notifier
from alerts.outbox import DeliveryRecord
from alerts.routing import alert_tags
from alerts.silences import SilenceStore
from alerts.store import Alert, AlertStore
from devices.registry import DeviceRegistry

__all__ = ["Announcer"]

log = logging.getLogger(__name__)


class Announcer:
    def __init__(
        self,
        store: AlertStore,
        notifier: Notifier,
        registry: DeviceRegistry,
        policy: FollowUpPolicy,
        silences: SilenceStore | None,
        links: AckLinks | None,
        base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.registry = registry
        self.policy = policy
        self.silences = silences
        self.links = links
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._site_names: tuple[float, dict[str, str]] = (0.0, {})
        self._last_prune = 0.0
        self.retention_days = (7.0, 365.0)  # outbox, delivery log (set from the config)

    def site_name(self, site_id: str | None) -> str | None:
        if site_id is None:
            return None
        at, names = self._site_names
        if site_id not in names or time.monotonic() - at > 60:
            names = {s.id: s.name for s in self.registry.list_sites()}
            self._site_names = (time.monotonic(), names)
        return names.get(site_id)

    def silenced(self, alert: Alert, now: datetime) -> bool:
        device = self.registry.info(alert.device_id) if alert.origin == "rule" else None
        if device is not None and device.state == "maintenance":
            return True  # a technician is on it: the device's state is its maintenance window
        if self.silences is None:
            return False
        return self.silences.matching(alert.site_id, alert.device_id, alert.rule, now) is not None

    def prune(self, now: datetime) -> None:
        """Hourly: drop delivered messages and old delivery-log rows (retention)."""
        if time.monotonic() - self._last_prune < 3600:
            return
        self._last_prune = time.monotonic()
        outbox_days, log_days = self.retention_days
        n = self.notifier.outbox.prune(
            now - timedelta(days=outbox_days), now - timedelta(days=log_days)
        )
        if n:
            log.info("pruned %d delivered message(s) and delivery-log row(s)", n)

    def follow_up(self, now: datetime) -> None:
        """Reminders, escalation steps and messages a silence held back, as they fall due."""
        for alert in self.store.open_alerts():
            device = self.registry.info(alert.device_id) if alert.origin == "rule" else None
            if device is not None and device.state == "retired":
                # a retired device's alert can no longer clear by itself: close it, on record
                self.store.resolve_by_id(alert.id, now, "system", "enheten är avvecklad")
                continue
            for step in due(alert, now, self.policy, self.silenced(alert, now)):
                if step.kind == "fire":
                    self.notify(alert, "after_silence", now=now)
                elif step.kind == "reminder":
                    self.notify(alert, "reminder", now=now)
                else:
                    self.notify(alert, "escalate", now=now, level=step.level, roles=step.roles)

    def recovery(self, alert: Alert) -> None:
        log.info("alert %s resolved: %s/%s", alert.id, alert.device_id, alert.rule)
        if alert.last_notified_at is None:
            return  # nobody was told it began (silenced): nothing to tell now
        self.notify(alert, "resolve")

    def _names(self, alert: Alert) -> tuple[str, str | None, str | None]:
        device = self.registry.info(alert.device_id)
        if device is None:  # an external alert: the source is not a device
            label = (alert.message or alert.rule.replace("_", " ")).splitlines()[0][:80]
            return label, self.site_name(alert.site_id), None
        where = self.site_name(device.site_id)
        unit = device.care_unit_id
        if where is None and unit:
            where = f"vårdenhet {unit}"
        return device.name or device.id, where, device.place

    def notify(
        self,
        alert: Alert,
        kind: str,
        *,
        previous: str | None = None,
        now: datetime | None = None,
        level: int | None = None,
        roles: tuple[str, ...] = (),
    ) -> None:
        at = now or self.clock()
        if self.silenced(alert, at):
            self.store.note_follow_up(alert.id, at, "suppressed", note=kind)
            self.notifier.outbox.record(
                DeliveryRecord(alert.id, at, kind, "-", True, None, outcome="suppressed")
            )
            return
        device_name, site_name, place = self._names(alert)
        links = self.links
        title, body = compose(
            alert,
            kind,
            device_name=device_name,
            site_name=site_name,
            place=place,
            page_link=f"{self.base_url}/alerts#alert-{alert.id}",
            ack_link=(lambda r: links.url(alert.id, r, at)) if links is not None else None,
            reminder_no=alert.reminders_sent + 1,
            previous_severity=previous,
        )
        if kind == "escalate":
            # the step's roles only; the alert's other tags (site, care unit) still narrow it
            extra = [t for t in alert.tags if not t.startswith("role:")]
        else:
            extra = [*alert.tags, *(f"role:{r}" for r in escalated_roles(alert, self.policy))]
        tags = alert_tags(
            severity=alert.severity,
            roles=roles,
            site_id=alert.site_id,
            device_id=alert.device_id,
            rule=alert.rule,
            extra=extra,
        )
        self.notifier.dispatch(alert.id, kind, title, body, alert.severity, tags, at)
        if kind == "reminder":
            self.store.note_follow_up(alert.id, at, "reminder")
        elif kind == "escalate":
            self.store.note_follow_up(alert.id, at, "escalate", escalation_level=level)
        elif kind != "resolve":
            self.store.note_follow_up(alert.id, at, "notified")
