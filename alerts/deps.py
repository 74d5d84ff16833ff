"""Alerting as a route dependency (``AlertingDep``); ``gateway.deps.wire`` provides it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from access.deps import NotWired
from alerts.service import Alerting

__all__ = ["AlertingDep", "alerting"]


def alerting() -> Alerting:
    raise NotWired("alerts.deps.alerting")


AlertingDep = Annotated[Alerting, Depends(alerting)]
