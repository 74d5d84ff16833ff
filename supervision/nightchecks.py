"""Tonight's checks and their status machine: created from the plans, moved on by the clock,
the bed sensors, camera looks, night staff and changes of plan.

One lock, the check lock (``lock``), orders every change of a check: the clock (``tick``), an
outcome from staff, a camera look (``supervision.camera_checks`` takes it around its match),
a change of plan or consent, retention and erasure. So a check changes status one event at a
time, and each change is written with its transitions before its alert goes out. The
pipeline thread never takes it: what the bed sensors say is kept by
``supervision.bedsensors`` under its own lock, which is only ever taken after this one.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from supervision.absences import AbsenceBook
from supervision.bedsensors import BedSensors
from supervision.bindings import SensorBindings
from supervision.changes import BoardChanges
from supervision.check_alerts import CheckAlerts
from supervision.checks import Check, CheckBook
from supervision.consents import ConsentBook
from supervision.errors import Invalid, StateError
from supervision.machine import OPEN, Outcome, Policy, Step, apply, refusal, tick
from supervision.plans import ScheduleBook, ScheduleInfo
from supervision.residents import ResidentBook, note_or_invalid
from supervision.schedule import night_of, planned_checks
from supervision.settings import SupervisionSettings
from supervision.stats import SupervisionStats

__all__ = ["MATERIALISE_EVERY", "NightChecks"]

log = logging.getLogger(__name__)

#: tonight's checks are created at the start of each night, after every change of plan or
#: consent (``refresh``), and again this often as a safety net
MATERIALISE_EVERY = timedelta(minutes=10)
_NEVER = datetime.min.replace(tzinfo=UTC)


class NightChecks:
    def __init__(
        self,
        settings: SupervisionSettings,
        *,
        checks: CheckBook,
        residents: ResidentBook,
        consents: ConsentBook,
        schedules: ScheduleBook,
        bindings: SensorBindings,
        absences: AbsenceBook,
        sensors: BedSensors,
        alerts: CheckAlerts,
        stats: SupervisionStats,
        changes: BoardChanges | None = None,
    ) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.checks = checks
        self._residents = residents
        self._consents = consents
        self._schedules_book = schedules
        self._bindings = bindings
        self._absences = absences
        self._sensors = sensors
        self._alerts = alerts
        self.stats = stats
        #: the check lock (module docstring); re-entrant, as a change of plan re-reads the plans
        self.lock = threading.RLock()
        #: bumped on every change a board shows (the live board re-renders when it moves)
        self.changes = changes or BoardChanges()
        self._schedules: dict[int, ScheduleInfo] = {}
        self._open_gates: set[tuple[str, str]] = set()  # (resident, method) with consent
        self._next_materialise = _NEVER
        self._materialised_night: date | None = None
        self.refresh()

    def refresh(self) -> None:
        """Re-read schedules and bindings after any change of plan, consent or binding."""
        with self.lock:
            self._schedules = {s.id: s for s in self._schedules_book.of(live=False)}
            self._sensors.watch(
                {
                    device_id: resident_id
                    for device_id, resident_id in self._bindings.all().items()
                    if self._consents.gate(resident_id, "sensor") is not None
                }
            )
            self._open_gates = {
                (sched.resident_id, sched.method)
                for sched in self._schedules.values()
                if self._consents.gate(sched.resident_id, sched.method) is not None
            }
            self._next_materialise = _NEVER

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

    def tick(self, now: datetime) -> None:
        """Create tonight's checks when due, read sensors when due, run the windows."""
        with self.lock:
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
            devices = self._sensors.devices_of(check.resident_id)
            if not devices:
                # consent is there but no sensor is bound: nobody knows, so somebody goes
                failure = Outcome(
                    "technical_failure", now, "system", "system", "ingen sensor kopplad"
                )
                state, steps = apply(state, failure, policy)
            else:
                kind, note = self._sensors.finding(devices[0], now)
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
        with self.lock:
            check = self.checks.get(check_id)
            outcome = Outcome(kind, now, actor, "manual", clean, reason)  # type: ignore[arg-type]
            policy = self.policy(check.schedule_id)
            state, steps = apply(check.state, outcome, policy)
            if not steps:
                raise StateError(refusal(check.state, outcome, policy))
            return self._commit(check, state, steps)

    def answer(self, check: Check, outcome: Outcome) -> bool:
        """Apply an outcome the caller matched to ``check`` under ``lock``; False: refused."""
        with self.lock:
            state, steps = apply(check.state, outcome, self.policy(check.schedule_id))
            if steps:
                self._commit(check, state, steps)
            return bool(steps)

    def materialise(self, night: date, now: datetime) -> int:
        """Create the checks of ``night`` that the live schedules and consents allow."""
        created = 0
        with self.lock:
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
                    gates[key] = self._consents.gate(*key)
                resident = self._residents.find(sched.resident_id)
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
                    self.changes.bump()
                    if self._absences.is_away(resident.id, pc.due_at):
                        self._admin(check, "suspended", "system", now, "frånvaro")
        return created

    # -- changes of plan that touch open checks --------------------------------------------

    def _admin(self, check: Check, kind: str, actor: str, now: datetime, note: str | None) -> bool:
        source = "system" if actor == "system" else "manual"
        return self.answer(check, Outcome(kind, now, actor, source, note))  # type: ignore[arg-type]

    def cancel_closed_gates(self, resident_id: str, actor: str, now: datetime, note: str) -> int:
        """After a withdrawal or an ended schedule: stop what may no longer run, at once."""
        n = 0
        with self.lock:
            self.refresh()
            live = {s.id for s in self._schedules_book.of(resident_id, live=True)}
            for check in self.checks.of_resident(resident_id, statuses=frozenset(OPEN)):
                gate = self._consents.gate(resident_id, check.method)
                if gate is None or check.schedule_id not in live:
                    n += self._admin(check, "cancel", actor, now, note)
        return n

    def suspension_changed(self, resident_id: str, actor: str, now: datetime) -> None:
        with self.lock:
            for check in self.checks.of_resident(
                resident_id, statuses=frozenset({"scheduled", "suspended"})
            ):
                if check.due_at <= now:
                    continue
                away = self._absences.is_away(resident_id, check.due_at)
                if away and check.status == "scheduled":
                    self._admin(check, "suspended", actor, now, "frånvaro")
                elif not away and check.status == "suspended":
                    self._admin(check, "resume", actor, now, "åter hemma")

    def skip_night(self, resident_id: str, night: date, actor: str, now: datetime) -> int:
        """The resident declined the checks of a night (Lund: "vissa nätter")."""
        n = 0
        with self.lock:
            self.materialise(night, now)
            for check in self.checks.of_resident(resident_id, night=night):
                n += self._admin(check, "skipped", actor, now, "på den boendes begäran")
        return n

    def _commit(self, check: Check, state: Any, steps: list[Step]) -> Check:
        saved = self.checks.save(check.id, state, steps)
        self.changes.bump()
        self.stats.transitions += len(steps)
        self._alerts.after(check, saved, steps, self.policy(check.schedule_id).ladder)
        return saved
