"""Rule overrides made through the API, in SQL (the settings' overrides live in the TOML)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.errors import AlertNotFound, RuleConfigError
from alerts.models import RuleOverrideRow
from alerts.rule_params import check_params

__all__ = ["OverrideStore"]

_SCOPE_KINDS = ("type:", "site:", "device:")


def check_scope(scope: str) -> str:
    if scope == "*" or (scope.startswith(_SCOPE_KINDS) and scope.partition(":")[2]):
        return scope
    raise RuleConfigError("scope must be *, type:<type>, site:<site> or device:<device id>")


class OverrideStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] | None = None

    def layer(self) -> Mapping[str, Mapping[str, Any]]:
        """``{"<scope>/<rule>": params}``, the same shape as the settings' ``rule_overrides``."""
        with self._lock:
            if self._cache is None:
                with self._sessions() as s:
                    rows = s.scalars(select(RuleOverrideRow).order_by(RuleOverrideRow.id))
                    self._cache = {f"{r.scope}/{r.rule}": dict(r.params) for r in rows}
            return self._cache

    def list(self) -> list[dict[str, Any]]:
        with self._sessions() as s:
            rows = s.scalars(select(RuleOverrideRow).order_by(RuleOverrideRow.id))
            return [
                {
                    "scope": r.scope,
                    "rule": r.rule,
                    "params": r.params,
                    "updated_by": r.updated_by,
                    "updated_at": r.updated_at,
                }
                for r in rows
            ]

    def put(
        self, scope: str, rule: str, params: Mapping[str, Any], actor: str, at: datetime
    ) -> None:
        check_scope(scope)
        try:
            check_params(params)
        except ValueError as exc:
            raise RuleConfigError(f"rule {rule!r}: {exc}") from None
        with self._sessions() as s:
            row = s.scalars(
                select(RuleOverrideRow).where(
                    RuleOverrideRow.scope == scope, RuleOverrideRow.rule == rule
                )
            ).first()
            if row is None:
                row = RuleOverrideRow(scope=scope, rule=rule, params=dict(params))
                s.add(row)
            row.params, row.updated_by, row.updated_at = dict(params), actor, at
            s.commit()
        with self._lock:
            self._cache = None

    def delete(self, scope: str, rule: str) -> None:
        with self._sessions() as s:
            row = s.scalars(
                select(RuleOverrideRow).where(
                    RuleOverrideRow.scope == scope, RuleOverrideRow.rule == rule
                )
            ).first()
            if row is None:
                raise AlertNotFound(f"no override for {rule!r} at scope {scope!r}")
            s.delete(row)
            s.commit()
        with self._lock:
            self._cache = None
