"""E-supervision (digital nattillsyn): residents, consent, night-check schedules, outcomes from
bed sensors, camera looks and staff, the status machine, the night board, audit and retention.

Care data lives here, apart from building telemetry (``sv_`` tables, ``/api/v1/supervision``).
The heavy parts (service, API, web) are imported by the composition root, not from here.
"""

from __future__ import annotations

from supervision.errors import SupervisionError
from supervision.schedule import CheckPlan, PlannedCheck, night_of, planned_checks
from supervision.settings import SupervisionSettings

__all__ = [
    "CheckPlan",
    "PlannedCheck",
    "SupervisionError",
    "SupervisionSettings",
    "night_of",
    "planned_checks",
]
