"""Settings of e-supervision: windows, escalation, retention. Built once, passed down.

Set them in the TOML file under ``[supervision]`` or as JSON in ``KOMMUNVAKT_SUPERVISION``.
The defaults follow ``shared/research/DOMAIN.md`` §1.4 and §7 (grace 15 min, re-check 15 min,
phone then visit). The retention periods are explicit decisions, since no Swedish mandated
period for night-check logs was found (DOMAIN §2.4): see the README notes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SupervisionSettings"]


class SupervisionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Europe/Stockholm"
    #: a check must be done within this many minutes after its time, or it is missed
    grace_minutes: float = Field(15, gt=0, le=240)
    #: a resident not seen is looked at again after this many minutes
    recheck_minutes: float = Field(15, gt=0, le=240)
    #: the escalation ladder, first rung first (e.g. phone, then a visit)
    escalation_ladder: tuple[str, ...] = ("phone", "visit")
    #: minutes on one rung before the next one is taken
    escalation_step_minutes: float = Field(10, gt=0, le=240)
    #: a camera look may come this many minutes before the check time and still count
    early_minutes: float = Field(10, ge=0, le=120)
    #: a bed sensor silent for this many × its expected interval is offline
    offline_factor: float = Field(3, ge=1, le=100)
    #: check records (checks, transitions, suspensions) are erased this many days after the night
    check_retention_days: int = Field(90, gt=0)
    #: audit entries are erased this many days after they were written
    audit_retention_days: int = Field(730, gt=0)
    #: how often the retention job runs
    retention_interval_s: int = Field(3600, gt=0)
    #: the night board asks for news this often (seconds)
    board_poll_s: float = Field(3, gt=0, le=60)
    #: an uninterrupted view of the board is audited when it starts and again after this long
    view_audit_interval_s: int = Field(300, ge=0)
    #: topic filter of camera-check events published by the camera system
    camera_topic: str = "kv/supervision/+/check"
