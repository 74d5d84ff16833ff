"""Who may see an alert: building alerts by site, care alerts by care unit (data separation)."""

from __future__ import annotations

from access.auth import Principal
from alerts.store import Alert

__all__ = ["may_see"]


def may_see(user: Principal, alert: Alert) -> bool:
    units = [t.partition(":")[2] for t in alert.tags if t.startswith("care_unit:")]
    if units:
        # care alerts are personal data: only staff of that unit (DOMAIN.md §7.13)
        return user.may("care.read") and any(user.may_see_care_unit(u) for u in units)
    return user.may("alerts.read") and user.may_see_site(alert.site_id)
