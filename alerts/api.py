"""REST routes of the alerts under ``/api/v1``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from access.auth import RequireUser
from alerts.store import Alert, AlertStore

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["alerts"])


def _store(request: Request) -> AlertStore:
    store: AlertStore = request.app.state.alert_store
    return store


Store = Annotated[AlertStore, Depends(_store)]


class AlertPublic(BaseModel):
    id: int
    device_id: str
    rule: str
    metric: str
    severity: str
    state: str
    value: float
    threshold: float
    started_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, a: Alert) -> AlertPublic:
        return cls(**{f: getattr(a, f) for f in cls.model_fields})


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = None


@router.get("/alerts", response_model=list[AlertPublic])
def list_alerts(
    store: Store,
    _user: RequireUser,
    state: Literal["active", "acknowledged", "resolved"] | None = None,
    device_id: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertPublic]:
    return [AlertPublic.of(a) for a in store.list(state, device_id, limit, offset)]


@router.get("/alerts/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: int, store: Store, _user: RequireUser) -> AlertPublic:
    return AlertPublic.of(store.get(alert_id))


@router.get("/alerts/{alert_id}/history")
def alert_history(alert_id: int, store: Store, _user: RequireUser) -> list[dict[str, Any]]:
    store.get(alert_id)
    return store.transitions(alert_id)


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic)
def acknowledge(
    alert_id: int, store: Store, user: RequireUser, body: AckBody | None = None
) -> AlertPublic:
    note = body.note if body else None
    return AlertPublic.of(store.acknowledge(alert_id, user.name, datetime.now(UTC), note))


@router.get("/deliveries")
def deliveries(
    store: Store,
    _user: RequireUser,
    alert_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [
        {
            "alert_id": d.alert_id,
            "at": d.at,
            "kind": d.kind,
            "channel": d.channel,
            "ok": d.ok,
            "error": d.error,
        }
        for d in store.deliveries(alert_id, limit)
    ]
