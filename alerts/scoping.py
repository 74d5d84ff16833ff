"""Which alerts a user may list, as one SQL condition (the same rule as ``visibility.may_see``).

List routes filter in the query, not after it: a page of ``limit`` rows then holds ``limit``
visible rows, and counts are counts of what the user may see. Building alerts are seen by
site (``alerts.read`` + site scope); care alerts (tagged ``care_unit:<id>``, issue 6) only by
staff of that care unit (``care.read`` + care-unit scope), whatever their site scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, and_, cast, false, not_, or_, true

from access.auth import Principal
from access.scope import visible_care_units, visible_sites
from alerts.models import AlertRow

__all__ = ["AlertScope"]

_CARE_PREFIX = "care_unit:"


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tags_contain(fragment: str) -> ColumnElement[bool]:
    # tags are a JSON list stored as text (SQLite TEXT, PostgreSQL json): a tag appears as its
    # json.dumps form, quotes included, so "care_unit:a" never matches "care_unit:ab"
    return cast(AlertRow.tags, String).like(f"%{_like_literal(fragment)}%", escape="\\")


@dataclass(frozen=True)
class AlertScope:
    """``None`` for sites/care_units means every one; ``buildings``/``care`` say whether the
    user may read building alerts (``alerts.read``) and care alerts (``care.read``) at all."""

    sites: frozenset[str] | None
    care_units: frozenset[str] | None
    buildings: bool
    care: bool

    @classmethod
    def of(cls, user: Principal) -> AlertScope:
        return cls(
            visible_sites(user),
            visible_care_units(user),
            user.may("alerts.read"),
            user.may("care.read"),
        )

    @property
    def everything(self) -> bool:
        return self.buildings and self.care and self.sites is None and self.care_units is None

    def clause(self) -> ColumnElement[bool]:
        """The condition on ``AlertRow`` for the alerts this scope may see."""
        # '"care_unit:' (opening quote of a JSON string) marks a care alert
        is_care = _tags_contain(json.dumps(_CARE_PREFIX)[:-1])
        building: ColumnElement[bool]
        care: ColumnElement[bool]
        if not self.buildings:
            building = false()
        elif self.sites is None:
            building = true()
        elif self.sites:
            building = AlertRow.site_id.in_(sorted(self.sites))
        else:
            building = false()
        if not self.care:
            care = false()
        elif self.care_units is None:
            care = true()
        else:
            care = or_(
                false(), *(_tags_contain(json.dumps(_CARE_PREFIX + u)) for u in self.care_units)
            )
        return or_(and_(not_(is_care), building), and_(is_care, care))
