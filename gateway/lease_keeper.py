"""Runs the lease: claims on a thread, a watchdog on another, and tells the platform when to
start the active work and when it has lost the right to do it.

Stepping down is final for the process: ``on_lost`` is called once and the keeper claims no
more (the CLI exits with ``EXIT_LEASE_LOST`` and the service manager starts a fresh standby).
A process that held the lease has in-memory state of an active one (rule timers, a pipeline
queue, MQTT packet ids); starting over as a standby is simpler to get right than unwinding it.

The watchdog looks at the grant's local expiry several times a second, independently of the
claims, so a claim stuck on a dead network still stops the active work on time. The active
parts also ask ``held()`` themselves before each step (``gateway.mqtt``, the notifier, the
clock): after a SIGSTOP all threads wake together, and none may act before the watchdog runs.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from gateway.lease import Claim, LeaseTimes, Standing, after_claim, is_active, unattended_s

__all__ = ["EXIT_LEASE_LOST", "LeaseBackend", "LeaseKeeper", "holder_id"]

log = logging.getLogger(__name__)

#: the exit status of a process that lost the lease (EX_TEMPFAIL: "try again", i.e. restart)
EXIT_LEASE_LOST = 75

_WATCH_S = 0.2


class LeaseBackend(Protocol):
    group: str

    def ensure_row(self) -> None: ...
    def claim(self, me: str, my_token: int | None, duration_s: float) -> Claim: ...
    def release(self, me: str, token: int) -> bool: ...


def holder_id() -> str:
    """Unique per process: a restarted process on the same host is a new holder."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


class LeaseKeeper:
    def __init__(
        self,
        backend: LeaseBackend,
        times: LeaseTimes,
        *,
        on_acquired: Callable[[int], None],
        on_lost: Callable[[], None],
        on_unattended: Callable[[bool, float], None],
        alarm_after_s: float,
        me: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.times = times
        self.me = me or holder_id()
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._on_unattended = on_unattended
        self._alarm_after_s = alarm_after_s
        self._mono = monotonic
        self._standing = Standing()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started_at = monotonic()
        self._last_ok = -1e18
        self._acquired = False
        self._lost = False
        self._alarmed = False
        self._threads: list[threading.Thread] = []
        self.claims = 0

    # -- what the active parts ask -------------------------------------------------------
    def held(self) -> bool:
        return not self._lost and is_active(self._standing, self._mono())

    def token(self) -> int | None:
        standing = self._standing
        return standing.token if self.held() else None

    def fence(self) -> tuple[str, str, int] | None:
        """(group, holder, token) while held: what a fenced SQL write checks the row against."""
        token = self.token()
        return None if token is None else (self.backend.group, self.me, token)

    @property
    def lost(self) -> bool:
        return self._lost

    def reachable(self) -> bool:
        """Did a claim reach the database within one lease duration?"""
        return self._mono() - self._last_ok < self.times.duration_s

    # -- running ------------------------------------------------------------------------
    def start(self) -> None:
        """The first claim runs here, so a lone instance is active before start returns."""
        try:
            self.backend.ensure_row()
        except SQLAlchemyError as exc:
            log.warning("gateway lease: database not reachable (%s); standing by", type(exc))
        self._claim_once()
        for target, name in ((self._claim_loop, "lease"), (self._watch_loop, "lease-watch")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.times.duration_s)
        token = self.token()
        if token is not None:
            self._lost = True  # nothing acts on the grant from here on
            try:
                if self.backend.release(self.me, token):
                    log.info("gateway lease released (token %d)", token)
            except SQLAlchemyError as exc:
                log.warning("gateway lease not released (%s); it expires by itself", type(exc))

    def _claim_loop(self) -> None:
        while not self._stop.wait(self.times.renew_s):
            if self._lost:
                return
            self._claim_once()

    def _watch_loop(self) -> None:
        while not self._stop.wait(_WATCH_S):
            self._check_lost(self._mono())

    def _claim_once(self) -> None:
        sent_at = self._mono()
        outcome: Claim | None
        try:
            outcome = self.backend.claim(self.me, self._standing.token, self.times.duration_s)
        except SQLAlchemyError as exc:
            log.warning("gateway lease: claim failed (%s)", type(exc).__name__)
            outcome = None
        else:
            self._last_ok = self._mono()
        self.claims += 1
        with self._lock:
            if self._lost:
                return
            self._standing = after_claim(self._standing, outcome, sent_at, self.times)
        now = self._mono()
        self._check_lost(now)
        if is_active(self._standing, now) and not self._acquired and not self._lost:
            self._acquired = True
            token = self._standing.token
            assert token is not None
            log.warning("gateway lease acquired (token %d): this instance is now active", token)
            try:
                self._on_acquired(token)
            except Exception:  # half started: a fresh process is the clean way back
                log.exception("could not start the active work; stepping down")
                with self._lock:
                    self._lost = True
                self._on_lost()
        if outcome is not None and not outcome.held and not self._acquired:
            log.debug("standing by: %s holds the lease", outcome.holder)
        self._alarm(now)

    def _check_lost(self, now: float) -> None:
        with self._lock:
            if not self._acquired or self._lost or is_active(self._standing, now):
                return
            self._lost = True
        log.error(
            "gateway lease lost (not renewed in time, or taken over): stopping the active work"
        )
        self._on_lost()

    def _alarm(self, now: float) -> None:
        gap = unattended_s(self._standing, now, self._started_at)
        alarm = gap > self._alarm_after_s
        if alarm == self._alarmed:
            return
        if alarm:
            log.error("no active gateway seen for %.0f s", gap)
        try:
            self._on_unattended(alarm, gap)
        except Exception:  # the database may be the reason; try again on the next claim
            log.exception("could not record the no-active-gateway alarm; retrying")
            return
        self._alarmed = alarm
