"""Camera looks (already validated by ``supervision.camera``: never an image) matched to the
check they answer, and every look, taken or refused, written to the audit log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from supervision.camera import CameraCheck
from supervision.checks import Check, CheckBook
from supervision.consents import ConsentBook
from supervision.machine import OPEN, Outcome, refusal
from supervision.nightchecks import NightChecks
from supervision.residents import ResidentBook
from supervision.stats import SupervisionStats

__all__ = ["CAMERA_CLOCK_SKEW", "CAMERA_MAX_AGE", "AuditLog", "CameraChecks"]

log = logging.getLogger(__name__)

#: a camera look stamped this far ahead of our clock, or older than the max age, is refused
CAMERA_CLOCK_SKEW = timedelta(minutes=5)
CAMERA_MAX_AGE = timedelta(hours=12)


class AuditLog(Protocol):
    def record(
        self,
        at: datetime,
        actor: str,
        action: str,
        target_type: str,
        target_id: str | None = None,
        *,
        outcome: str = "allowed",
        source_ip: str | None = None,
        details: dict[str, object] | None = None,
    ) -> None: ...


class CameraChecks:
    def __init__(
        self,
        night: NightChecks,
        *,
        residents: ResidentBook,
        consents: ConsentBook,
        checks: CheckBook,
        audit: AuditLog,
        stats: SupervisionStats,
        early: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._night = night
        self._residents = residents
        self._consents = consents
        self._checks = checks
        self._audit = audit
        self._stats = stats
        self._early = early
        self._clock = clock

    def on_camera_check(self, event: CameraCheck) -> None:
        """A camera look from the camera system (the camera inbox's thread)."""
        now = self._clock()
        actor = f"camera:{event.staff_id}"
        details: dict[str, object] = {"outcome": event.outcome, "looked_at": event.at.isoformat()}
        if event.duration_s is not None:
            details["duration_s"] = event.duration_s

        def record(outcome: str, target: str, reason: str | None = None) -> None:
            extra = {"reason": reason} if reason else {}
            self._audit.record(
                now,
                actor,
                "supervision.check.camera",
                "resident",
                target,
                outcome=outcome,
                details={**details, **extra},
            )

        with self._night.lock:  # the match and the change are one step for the machine
            self._stats.camera_events += 1
            if event.at > now + CAMERA_CLOCK_SKEW or event.at < now - CAMERA_MAX_AGE:
                # a look from the future or from long ago says nothing about tonight
                record("failed", event.resident_id, "time out of range")
                log.warning("camera-check event refused: its time is out of range")
                return
            resident = self._residents.find(event.resident_id)
            if resident is None or self._consents.gate(resident.id, "camera") is None:
                reason = "unknown resident" if resident is None else "no camera consent"
                record("denied", event.resident_id, reason)
                log.warning("camera-check event refused: %s", reason)
                return
            check, reason = self._match(resident.id, event)
            if check is None:
                self._stats.camera_unmatched += 1
                record("failed", resident.id, reason)
                log.warning("camera-check event of resident %s refused: %s", resident.id, reason)
                return
            note = f"kameratillsyn {event.duration_s:g} s" if event.duration_s else "kameratillsyn"
            if event.note:
                note += f": {event.note}"
            outcome = Outcome(event.outcome, event.at, actor, "camera", note)
            details["check_id"] = check.id
            if not self._night.answer(check, outcome):
                record("failed", resident.id, refusal(check.state, outcome))
                return
            record("allowed", resident.id)

    def _match(self, resident_id: str, event: CameraCheck) -> tuple[Check | None, str]:
        """The check the look answers, or None and the reason it answers none.

        Only a camera check of this resident, and only from ``early_minutes`` before its time:
        a look cannot close a bed sensor's check, another resident's, or one hours ahead.
        """
        candidates = self._checks.of_resident(
            resident_id, statuses=OPEN | {"missed", "technical_failure"}
        )
        early = self._early
        if event.check_id is not None:
            named = next((c for c in candidates if c.id == event.check_id), None)
            if named is None:
                return None, "no open check of this resident has that check_id"
            if named.method != "camera":
                return None, f"the check is a {named.method} check, not a camera check"
            if event.at < named.due_at - early:
                return None, "the look was before the check's window opened"
            return named, ""
        # a re-check first (a second look may come before the re-check time), then the
        # earliest check whose window has opened, then a late look at a missed one
        for wanted in (
            ("recheck_pending",),
            ("scheduled",),
            ("escalated", "missed", "technical_failure"),
        ):
            for c in candidates:
                if c.method == "camera" and c.status in wanted and c.due_at - early <= event.at:
                    return c, ""
        return None, "no open camera check of this resident had its window open"
