"""The e-supervision service: tonight's checks, the clock, sensor and camera findings, alerts.

Inputs arrive on four threads: the clock (``tick``, every second), the pipeline
(``on_readings``, bed-sensor readings), the camera inbox (``on_camera_check``) and the API
(``record_outcome`` and the rest). One lock orders them, so a check changes status one event
at a time; each change is written with its transitions before the alert goes out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from supervision.access import Gate
from supervision.alerting import AlertSink, LogSink, alert_for, alert_key, alert_rule
from supervision.camera import CameraCheck, CameraInbox
from supervision.checks import Check, CheckBook
from supervision.errors import Invalid, StateError
from supervision.machine import (
    OPEN,
    Outcome,
    Policy,
    Step,
    apply,
    refusal,
    sensor_finding,
    tick,
)
from supervision.records import SupervisionRecords, check_json
from supervision.residents import ResidentBook, ScheduleInfo, note_or_invalid
from supervision.schedule import local_label, night_of, planned_checks
from supervision.settings import SupervisionSettings

__all__ = ["SupervisionService", "check_json"]

log = logging.getLogger(__name__)

#: tonight's checks are created at the start of each night, after every change of plan or
#: consent (``refresh``), and again this often as a safety net
MATERIALISE_EVERY = timedelta(minutes=10)
#: a camera look stamped this far ahead of our clock, or older than the max age, is refused
CAMERA_CLOCK_SKEW = timedelta(minutes=5)
CAMERA_MAX_AGE = timedelta(hours=12)


class _Device(Protocol):
    @property
    def state(self) -> str: ...

    @property
    def expected_interval_s(self) -> int: ...


class _Registry(Protocol):
    def info(self, device_id: str) -> Any: ...


class _CareReadings(Protocol):
    """The care reading store (``ingest.sqlite_store``): bed sensors' readings, kept apart."""

    def prune(self, before: datetime) -> int: ...

    def erase(self, device_id: str, start: datetime, end: datetime | None = None) -> int: ...

    def readings_of(
        self, device_id: str, start: datetime, end: datetime | None = None
    ) -> Sequence[Any]: ...


class _Audit(Protocol):
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


@dataclass(slots=True)
class SupervisionStats:
    sensor_findings: int = 0
    camera_events: int = 0
    camera_unmatched: int = 0
    transitions: int = 0
    alerts_raised: int = 0
    #: checks a bug stopped in one clock step (each alone; the other checks went on)
    errors: int = 0


class SupervisionService(SupervisionRecords):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: SupervisionSettings,
        *,
        registry: _Registry,
        audit: _Audit,
        alerts: AlertSink | None = None,
        latest: Callable[[str], Sequence[Any]] | None = None,
        care_readings: _CareReadings | None = None,
        base_url: str = "http://127.0.0.1:8000",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self._sessions = sessions
        self.residents = ResidentBook(sessions, settings.timezone)
        self.checks = CheckBook(sessions)
        self.registry = registry
        self.audit = audit
        self.alerts: AlertSink = alerts or LogSink()
        self.base_url = base_url
        self.stats = SupervisionStats()
        self.camera_inbox = CameraInbox(self.on_camera_check)
        self.gate = Gate(audit, settings.view_audit_interval_s)
        self._latest = latest
        #: erased with the check records (retention) and with a resident (erasure)
        self.care_readings = care_readings
        self._lock = threading.RLock()
        #: bumped on every change a board shows (the live board re-renders when it moves)
        self.version = 0
        self._last_seen: dict[str, datetime] = {}
        self._in_bed: dict[str, tuple[bool, datetime]] = {}
        self._monitored: dict[str, str] = {}  # device id → resident id (sensor consent open)
        self._schedules: dict[int, ScheduleInfo] = {}
        self._open_gates: set[tuple[str, str]] = set()  # (resident, method) with consent
        self._next_materialise = datetime.min.replace(tzinfo=UTC)
        self._materialised_night: date | None = None
        self._next_retention = datetime.min.replace(tzinfo=UTC)
        self.refresh()

    # -- caches ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read schedules and bindings after any change of plan, consent or binding."""
        with self._lock:
            self._schedules = {s.id: s for s in self.residents.schedules(live=False)}
            monitored = {}
            for device_id, resident_id in self.residents.bindings().items():
                if self.residents.consent_gate(resident_id, "sensor") is not None:
                    monitored[device_id] = resident_id
            for device_id in set(monitored) - set(self._monitored):
                self._seed(device_id)
            for device_id in set(self._monitored) - set(monitored):
                # consent withdrawn or sensor unbound: forget what it said at once
                self._last_seen.pop(device_id, None)
                self._in_bed.pop(device_id, None)
            self._monitored = monitored
            self._open_gates = {
                (sched.resident_id, sched.method)
                for sched in self._schedules.values()
                if self.residents.consent_gate(sched.resident_id, sched.method) is not None
            }
            self._next_materialise = datetime.min.replace(tzinfo=UTC)

    def _seed(self, device_id: str) -> None:
        if self._latest is None:
            return
        for value in self._latest(device_id):
            heard = value.received_at or value.time
            seen = self._last_seen.get(device_id)
            if seen is None or heard > seen:
                self._last_seen[device_id] = heard
            if value.metric == "in_bed":
                self._in_bed[device_id] = (bool(value.value), heard)

    def policy(self, schedule_id: int | None) -> Policy:
        st = self.settings
        sched = self._schedules.get(schedule_id) if schedule_id is not None else None

        def minutes(own: float | None, default: float) -> timedelta:
            return timedelta(minutes=own if own is not None else default)

        return Policy(
            grace=minutes(sched.grace_minutes if sched else None, st.grace_minutes),
            recheck=minutes(sched.recheck_minutes if sched else None, st.recheck_minutes),
            ladder=(sched.ladder if sched and sched.ladder else st.escalation_ladder),
            step=minutes(sched.step_minutes if sched else None, st.escalation_step_minutes),
            early=timedelta(minutes=st.early_minutes),
        )

    # -- inputs ---------------------------------------------------------------------------

    #: what a bed sensor says about the person in the bed; its battery and signal are the
    #: device's own health and are kept whoever lies there
    PERSONAL_METRICS = frozenset({"in_bed"})

    def may_store(self, device_id: str, metric: str) -> bool:
        """Whether a care reading may be stored: a bed sensor's ``in_bed`` only while the
        sensor is bound to a resident whose sensor consent holds (no basis for keeping a
        sleep pattern otherwise; consent withdrawn stops it at once). Called on the pipeline
        thread for every care reading: a dict lookup, no SQL."""
        return metric not in self.PERSONAL_METRICS or device_id in self._monitored

    def on_readings(self, batch: Iterable[tuple[Any, Any]]) -> None:
        """Pipeline listener: remember what monitored bed sensors say (no SQL here).

        The batch comes in the order its messages were received, and that order decides what
        the sensor says now: a device's own time can be wrong or forged. When it was last
        heard is its own time, but never later than now (a clock running ahead must not
        keep a silent sensor looking alive)."""
        monitored = self._monitored
        now = self._clock()
        for device, reading in batch:
            if device.id not in monitored:
                continue
            heard = min(reading.time, now)
            seen = self._last_seen.get(device.id)
            if seen is None or heard > seen:
                self._last_seen[device.id] = heard
            if reading.metric == "in_bed":
                self._in_bed[device.id] = (bool(reading.value), heard)

    def tick(self, now: datetime) -> None:
        """Platform ticker: create tonight's checks, read sensors when due, run the windows."""
        with self._lock:
            night = night_of(now, self.zone)
            if now >= self._next_materialise or night != self._materialised_night:
                self._next_materialise = now + MATERIALISE_EVERY
                self._materialised_night = night
                self.materialise(night, now)
            for check in self.checks.open_checks(due_by=now + self.policy(None).early):
                try:
                    self._advance(check, now)
                except Exception:
                    # one check's bug must not stop tonight's other checks (nor this one's
                    # next try at the following tick); logged by id, no personal data
                    self.stats.errors += 1
                    log.exception("the night check %s could not advance", check.id)
            if now >= self._next_retention:
                self._next_retention = now + timedelta(seconds=self.settings.retention_interval_s)
                self.retention(now)

    def _advance(self, check: Check, now: datetime) -> None:
        policy = self.policy(check.schedule_id)
        state, steps = check.state, list[Step]()
        sensor_due = check.method == "sensor" and (
            (state.status == "scheduled" and now >= state.due_at)
            or (
                state.status == "recheck_pending"
                and state.recheck_at is not None
                and now >= state.recheck_at
            )
        )
        stopped = self._stopped(check)
        if stopped is not None:
            # however the plan or consent changed, a check that may no longer run stops here
            state, steps = apply(state, Outcome("cancel", now, "system", "system", stopped), policy)
            if steps:
                self._commit(check, state, steps)
            return
        if sensor_due:
            devices = [d for d, r in self._monitored.items() if r == check.resident_id]
            if not devices:
                # consent is there but no sensor is bound: nobody knows, so somebody goes
                state, steps = apply(
                    state,
                    Outcome("technical_failure", now, "system", "system", "ingen sensor kopplad"),
                    policy,
                )
            else:
                kind, note = self._sensor(devices[0], now)
                state, steps = apply(
                    state, Outcome(kind, now, f"sensor:{devices[0]}", "sensor", note), policy
                )
                self.stats.sensor_findings += 1
        state, more = tick(state, now, policy)
        steps += more
        if steps:
            self._commit(check, state, steps)

    def _stopped(self, check: Check) -> str | None:
        """Why a waiting check may no longer run (consent gone, schedule ended), or None."""
        if check.status not in ("scheduled", "recheck_pending"):
            return None
        if (check.resident_id, check.method) not in self._open_gates:
            return "samtycke saknas"
        sched = self._schedules.get(check.schedule_id) if check.schedule_id is not None else None
        if sched is None or (sched.ended_at is not None and sched.ended_at <= check.due_at):
            return "schemat avslutat"
        return None

    def _sensor(self, device_id: str, now: datetime) -> tuple[Any, str]:
        info = self.registry.info(device_id)
        active = info is not None and info.state == "active"
        interval = info.expected_interval_s if info is not None else 300
        offline_after = timedelta(seconds=interval * self.settings.offline_factor)
        return sensor_finding(
            self._in_bed.get(device_id),
            self._last_seen.get(device_id),
            now,
            offline_after,
            active,
        )

    def on_camera_check(self, event: CameraCheck) -> None:
        """A camera look from the camera system (already validated: never an image)."""
        now = self._clock()
        actor = f"camera:{event.staff_id}"
        details: dict[str, object] = {"outcome": event.outcome, "looked_at": event.at.isoformat()}
        if event.duration_s is not None:
            details["duration_s"] = event.duration_s

        def record(outcome: str, target: str, reason: str | None = None) -> None:
            extra = {"reason": reason} if reason else {}
            self.audit.record(
                now,
                actor,
                "supervision.check.camera",
                "resident",
                target,
                outcome=outcome,
                details={**details, **extra},
            )

        with self._lock:
            self.stats.camera_events += 1
            if event.at > now + CAMERA_CLOCK_SKEW or event.at < now - CAMERA_MAX_AGE:
                # a look from the future or from long ago says nothing about tonight
                record("failed", event.resident_id, "time out of range")
                log.warning("camera-check event refused: its time is out of range")
                return
            resident = self.residents.find(event.resident_id)
            if resident is None or self.residents.consent_gate(resident.id, "camera") is None:
                reason = "unknown resident" if resident is None else "no camera consent"
                record("denied", event.resident_id, reason)
                log.warning("camera-check event refused: %s", reason)
                return
            check, reason = self._match(resident.id, event)
            if check is None:
                self.stats.camera_unmatched += 1
                record("failed", resident.id, reason)
                log.warning("camera-check event of resident %s refused: %s", resident.id, reason)
                return
            note = f"kameratillsyn {event.duration_s:g} s" if event.duration_s else "kameratillsyn"
            if event.note:
                note += f": {event.note}"
            outcome = Outcome(event.outcome, event.at, actor, "camera", note)
            state, steps = apply(check.state, outcome, self.policy(check.schedule_id))
            details["check_id"] = check.id
            if not steps:
                record("failed", resident.id, refusal(check.state, outcome))
                return
            self._commit(check, state, steps)
            record("allowed", resident.id)

    def _match(self, resident_id: str, event: CameraCheck) -> tuple[Check | None, str]:
        """The check the look answers, or None and the reason it answers none.

        Only a camera check of this resident, and only from ``early_minutes`` before its time:
        a look cannot close a bed sensor's check, another resident's, or one hours ahead.
        """
        candidates = self.checks.of_resident(
            resident_id, statuses=OPEN | {"missed", "technical_failure"}
        )
        early = timedelta(minutes=self.settings.early_minutes)
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

    def record_outcome(
        self,
        check_id: int,
        kind: str,
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
        timing_reason: str | None = None,
    ) -> Check:
        """An outcome or a visit recorded by night staff (the board, the API); closing a check
        outside its window needs ``timing_reason`` (``supervision.machine``)."""
        clean = note_or_invalid(note)
        reason = note_or_invalid(timing_reason)
        if timing_reason is not None and not reason:
            raise Invalid("timing_reason: say why the check is closed outside its window")
        with self._lock:
            check = self.checks.get(check_id)
            outcome = Outcome(kind, now, actor, "manual", clean, reason)  # type: ignore[arg-type]
            policy = self.policy(check.schedule_id)
            state, steps = apply(check.state, outcome, policy)
            if not steps:
                raise StateError(refusal(check.state, outcome, policy))
            return self._commit(check, state, steps)

    # -- materialising tonight -----------------------------------------------------------

    def materialise(self, night: date, now: datetime) -> int:
        """Create the checks of ``night`` that the live schedules and consents allow."""
        created = 0
        with self._lock:
            exists = self.checks.keys_of_night(night)
            gates: dict[tuple[str, str], datetime | None] = {}
            for sched in self._schedules.values():
                if not sched.plan.covers(night) or sched.ended_at is not None:
                    continue
                due = [
                    pc
                    for pc in planned_checks(sched.plan, night)
                    if (sched.id, pc.due_at) not in exists
                ]
                if not due:
                    continue
                key = (sched.resident_id, sched.method)
                if key not in gates:
                    gates[key] = self.residents.consent_gate(*key)
                resident = self.residents.find(sched.resident_id)
                gate = gates[key]
                if gate is None or resident is None:
                    continue
                since = max(gate, sched.created_at)
                for pc in due:
                    if pc.due_at < since:
                        continue  # a plan or consent never reaches back in time
                    check = self.checks.create(
                        resident_id=resident.id,
                        care_unit_id=resident.care_unit_id,
                        schedule_id=sched.id,
                        method=sched.method,
                        night=night,
                        planned=pc.planned.strftime("%H:%M"),
                        due_at=pc.due_at,
                        now=now,
                    )
                    if check is None:
                        continue
                    created += 1
                    self.version += 1
                    if self.residents.is_suspended(resident.id, pc.due_at):
                        self._apply_admin(check, "suspended", "system", now, "frånvaro")
        return created

    # -- changes of plan that touch open checks --------------------------------------------

    def _apply_admin(
        self, check: Check, kind: str, actor: str, now: datetime, note: str | None
    ) -> bool:
        outcome = Outcome(kind, now, actor, "system" if actor == "system" else "manual", note)  # type: ignore[arg-type]
        state, steps = apply(check.state, outcome, self.policy(check.schedule_id))
        if steps:
            self._commit(check, state, steps)
        return bool(steps)

    def cancel_closed_gates(self, resident_id: str, actor: str, now: datetime, note: str) -> int:
        """After a withdrawal or an ended schedule: stop what may no longer run, at once."""
        n = 0
        with self._lock:
            self.refresh()
            live = {s.id for s in self.residents.schedules(resident_id, live=True)}
            for check in self.checks.of_resident(resident_id, statuses=frozenset(OPEN)):
                gate = self.residents.consent_gate(resident_id, check.method)
                if gate is None or check.schedule_id not in live:
                    n += self._apply_admin(check, "cancel", actor, now, note)
        return n

    def suspension_changed(self, resident_id: str, actor: str, now: datetime) -> None:
        with self._lock:
            for check in self.checks.of_resident(
                resident_id, statuses=frozenset({"scheduled", "suspended"})
            ):
                if check.due_at <= now:
                    continue
                away = self.residents.is_suspended(resident_id, check.due_at)
                if away and check.status == "scheduled":
                    self._apply_admin(check, "suspended", actor, now, "frånvaro")
                elif not away and check.status == "suspended":
                    self._apply_admin(check, "resume", actor, now, "åter hemma")

    def skip_night(self, resident_id: str, night: date, actor: str, now: datetime) -> int:
        """The resident declined the checks of a night (Lund: "vissa nätter")."""
        n = 0
        with self._lock:
            self.materialise(night, now)
            for check in self.checks.of_resident(resident_id, night=night):
                n += self._apply_admin(check, "skipped", actor, now, "på den boendes begäran")
        return n

    # -- writing a change and its alert --------------------------------------------------

    def _commit(self, check: Check, state: Any, steps: list[Step]) -> Check:
        saved = self.checks.save(check.id, state, steps)
        self.version += 1
        self.stats.transitions += len(steps)
        resident = self.residents.find(check.resident_id)
        label = resident.label if resident else check.resident_id
        ladder = self.policy(check.schedule_id).ladder
        key = alert_key(check.id)
        # the alert rule of the status the check is in before each step
        rung_before = ladder[check.rung] if check.rung < len(ladder) else None
        open_rule = alert_rule(check.status, rung_before)
        for st in steps:
            new_rule = alert_rule(st.to_status, st.rung)
            if open_rule is not None and open_rule != new_rule:
                note = st.note if st.to_status in ("resolved", "cancelled") else st.to_status
                self._alert_call(self.alerts.resolve_alert, key, open_rule, st.at, st.actor, note)
            if new_rule is not None and new_rule != open_rule:
                alert = alert_for(
                    st.to_status,
                    check_id=check.id,
                    resident_id=check.resident_id,
                    label=label,
                    care_unit_id=check.care_unit_id,
                    planned=check.planned,
                    at=st.at,
                    at_local=local_label(st.at, self.zone),
                    recheck_local=(
                        local_label(saved.recheck_at, self.zone) if saved.recheck_at else None
                    ),
                    rung=st.rung,
                    base_url=self.base_url,
                )
                if alert is not None:
                    self.stats.alerts_raised += 1
                    self._alert_call(self.alerts.raise_alert, alert)
            if st.to_status != "not_seen":  # not_seen passes on at once; keep its rule
                open_rule = new_rule
        return saved

    @staticmethod
    def _alert_call(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            # the check's status is stored and on the board either way; the log says why
            log.exception("alert call %s failed", getattr(fn, "__name__", fn))
