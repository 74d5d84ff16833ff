"""Who may see which resident, and the audit trail of every look and every act.

Scope: a principal sees the residents of the care units assigned to it
(``access.scope``: the one rule; admin and "*" see all). Role: reading needs ``care.read``,
recording outcomes ``care.write``, changing residents, consents, schedules and sensors
``care.admin``, reading the audit log ``audit.read`` (``access.policy``). A refusal is written
to the audit log before the 403 goes out. Audit entries carry ids, never labels.

Every request for a board is logged (a page load, an API read, a new live stream). Within one
open live stream the board re-renders whenever a check changes; those re-renders, and the
polling fallback for browsers without EventSource, are one uninterrupted look and are logged
again only every ``view_audit_interval_s`` (same user, unit and address), so the monthly log
review is not buried under thousands of identical rows per phone and night.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from fastapi import Request

from access.auth import AccessDenied, Principal

__all__ = ["Gate", "client_ip"]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _may(user: Principal, action: str) -> bool:
    return user.may(action)


class Gate:
    def __init__(self, audit: object, view_interval_s: int) -> None:
        self.audit = audit
        self.view_interval = timedelta(seconds=view_interval_s)
        self._views: dict[tuple[str, str, str | None], datetime] = {}
        self._lock = threading.Lock()

    def record(
        self,
        request: Request | None,
        user: Principal | str,
        action: str,
        target_type: str,
        target_id: str | None,
        now: datetime,
        *,
        outcome: str = "allowed",
        details: dict[str, object] | None = None,
    ) -> None:
        actor = user if isinstance(user, str) else user.name
        ip = client_ip(request) if request is not None else None
        self.audit.record(  # type: ignore[attr-defined]
            now,
            actor,
            action,
            target_type,
            target_id,
            outcome=outcome,
            source_ip=ip,
            details=details,
        )

    def require(
        self,
        request: Request,
        user: Principal,
        *,
        action: str,
        role_action: str,
        unit: str | None,
        target_type: str,
        target_id: str | None,
        now: datetime,
    ) -> None:
        """Allow, or audit the refusal and raise 403."""
        reason = None
        if not _may(user, role_action):
            reason = f"role {user.role} lacks {role_action}"
        elif unit is not None and not user.may_see_care_unit(unit):
            reason = "care unit not assigned"
        if reason is None:
            return
        self.record(
            request,
            user,
            action,
            target_type,
            target_id,
            now,
            outcome="denied",
            details={"reason": reason, **({"care_unit": unit} if unit else {})},
        )
        raise AccessDenied(f"{user.name} may not {action.split('.', 1)[-1]} here: {reason}")

    def view(
        self,
        request: Request,
        user: Principal,
        unit: str,
        residents: Iterable[str],
        now: datetime,
        *,
        force: bool = False,
    ) -> bool:
        """Audit a view of a unit's board (coalesced while it stays open). True when logged."""
        key = (user.name, unit, client_ip(request))
        with self._lock:
            last = self._views.get(key)
            if not force and last is not None and now - last < self.view_interval:
                return False
            self._views[key] = now
        self.record(
            request,
            user,
            "supervision.board.view",
            "care_unit",
            unit,
            now,
            details={"residents": sorted(residents)},
        )
        return True
