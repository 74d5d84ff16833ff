"""After a check changed status: resolve the alert of the status it left, raise the next.

Called with the check lock held (``supervision.nightchecks``), after the change is stored: a
failing alert call is logged and the check keeps its status (it is on the board either way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from supervision.alerting import AlertSink, alert_for, alert_key, alert_rule
from supervision.checks import Check
from supervision.machine import Step
from supervision.residents import ResidentBook
from supervision.schedule import local_label
from supervision.stats import SupervisionStats

__all__ = ["CheckAlerts"]

log = logging.getLogger(__name__)


class CheckAlerts:
    def __init__(
        self,
        alerts: AlertSink,
        *,
        residents: ResidentBook,
        zone: ZoneInfo,
        base_url: str,
        stats: SupervisionStats,
    ) -> None:
        self.sink = alerts
        self._residents = residents
        self._zone = zone
        self._base_url = base_url
        self._stats = stats

    def after(self, check: Check, saved: Check, steps: list[Step], ladder: tuple[str, ...]) -> None:
        """``check`` as it was, ``saved`` as it is after ``steps``."""
        resident = self._residents.find(check.resident_id)
        label = resident.label if resident else check.resident_id
        key = alert_key(check.id)
        # the alert rule of the status the check is in before each step
        rung_before = ladder[check.rung] if check.rung < len(ladder) else None
        open_rule = alert_rule(check.status, rung_before)
        for st in steps:
            new_rule = alert_rule(st.to_status, st.rung)
            if open_rule is not None and open_rule != new_rule:
                note = st.note if st.to_status in ("resolved", "cancelled") else st.to_status
                self._call(self.sink.resolve_alert, key, open_rule, st.at, st.actor, note)
            if new_rule is not None and new_rule != open_rule:
                alert = alert_for(
                    st.to_status,
                    check_id=check.id,
                    resident_id=check.resident_id,
                    label=label,
                    care_unit_id=check.care_unit_id,
                    planned=check.planned,
                    at=st.at,
                    at_local=local_label(st.at, self._zone),
                    recheck_local=(
                        local_label(saved.recheck_at, self._zone) if saved.recheck_at else None
                    ),
                    rung=st.rung,
                    base_url=self._base_url,
                )
                if alert is not None:
                    self._stats.alerts_raised += 1
                    self._call(self.sink.raise_alert, alert)
            if st.to_status != "not_seen":  # not_seen passes on at once; keep its rule
                open_rule = new_rule

    @staticmethod
    def _call(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            # the check's status is stored and on the board either way; the log says why
            log.exception("alert call %s failed", fn.__name__)
