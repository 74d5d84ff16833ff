"""Alerting configuration: the ``[alerting]`` table of the TOML file (or ``KOMMUNVAKT_ALERTING``
as JSON). Validated here, at the boundary; the engine gets plain values.

```toml
[alerting]
reminder_s = { critical = 900, warning = 3600 }   # 0 or missing: no reminders
escalation = [ { after_s = 600, roles = ["oncall"] } ]
link_ttl_s = 86400
# link_secret = "..."      # default: a random key in <data_dir>/alert_link_secret

[[alerting.recipients]]
name = "Fastighetsjouren"
url  = "mailto://smtp.kommun.se?from=larm@kommun.se&to=jour@kommun.se"
tags = ["site:vattenverket", "role:facility"]

[[alerting.recipients]]
name = "Beredskap"
url  = "json://larm.kommun.se/hook"
tags = ["role:oncall", "severity:critical"]
```
Every ``notify_urls`` entry is also a recipient, with no tags (it gets everything).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alerts.followup import EscalationStep, FollowUpPolicy
from alerts.notify import RetryPolicy
from alerts.routing import Recipient

__all__ = ["AlertingConfig", "RecipientConfig"]


class RecipientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: SecretStr
    tags: list[str] = Field(default_factory=list)
    name: str = ""


class StepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after_s: float = Field(gt=0)
    roles: list[str] = Field(min_length=1)
    match: list[str] = Field(default_factory=list)


class AlertingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipients: list[RecipientConfig] = Field(default_factory=list)
    reminder_s: dict[str, float] = Field(
        default_factory=lambda: {"critical": 900.0, "warning": 3600.0}
    )
    max_reminders: int = Field(0, ge=0)
    escalation: list[StepConfig] = Field(
        default_factory=lambda: [StepConfig(after_s=600, roles=["oncall"])]
    )
    retry_first_s: float = Field(5.0, gt=0)
    retry_max_s: float = Field(300.0, gt=0)
    give_up_after_s: float = Field(24 * 3600.0, gt=0)
    link_secret: SecretStr | None = None
    link_ttl_s: float = Field(24 * 3600.0, gt=0)
    #: delivered messages (their text, with ack links) are kept this long, the delivery log
    #: longer; alerts and their transitions are kept (they are the record)
    outbox_retention_days: float = Field(7.0, gt=0)
    delivery_log_retention_days: float = Field(365.0, gt=0)

    @classmethod
    def of(cls, raw: Any) -> AlertingConfig:
        return raw if isinstance(raw, cls) else cls.model_validate(raw or {})

    def recipient_list(self, notify_urls: list[SecretStr]) -> list[Recipient]:
        out = [
            Recipient(r.url.get_secret_value(), frozenset(t.lower() for t in r.tags), r.name)
            for r in self.recipients
        ]
        out += [Recipient(u.get_secret_value()) for u in notify_urls]
        return out

    def follow_up(self) -> FollowUpPolicy:
        return FollowUpPolicy(
            reminder_s=dict(self.reminder_s),
            max_reminders=self.max_reminders,
            escalation=tuple(
                EscalationStep(s.after_s, tuple(s.roles), tuple(s.match)) for s in self.escalation
            ),
        )

    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.retry_first_s, self.retry_max_s, self.give_up_after_s)
