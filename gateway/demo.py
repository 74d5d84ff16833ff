"""Seeds the demo municipality (idempotent) and returns the timeline the simulator plays.

Sites, devices (each with the ref its payload family uses), the kitchen's opening hours set
to close two minutes after the start, and, when the e-supervision package is there, a care
unit with a resident whose bed sensor is checked five minutes after the start (see
``simulators.demo``). The care part is guarded: a demo without it still shows the alerts.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.private_files import private_file
from devices.errors import Conflict
from devices.schemas import DeviceCreate, SiteCreate, SiteUpdate
from gateway.platform import Platform
from simulators.demo import (
    DEMO_CARE_UNIT,
    DEMO_DEVICES,
    DEMO_RESIDENT,
    DEMO_SITES,
    DemoPlan,
    demo_plan,
)

__all__ = ["demo_admin_password", "demo_logins", "seed_demo"]

log = logging.getLogger(__name__)

ACTOR = "demo"


def demo_admin_password(users: Any, data_dir: Path) -> str | None:
    """The demo's web sign-in for ``admin``: on first start a random password is set and kept
    in ``data_dir/admin_password`` (mode 0600), like the admin token; later starts read it back.
    None when the admin's password was set another way (``kommunvakt users set-password``)."""
    path = data_dir / "admin_password"
    if not users.get("admin").has_password:
        password = secrets.token_urlsafe(12)
        users.set_password("admin", password)
        private_file(path)
        path.write_text(password + "\n", encoding="utf-8")
        return password
    if path.exists():
        return path.read_text(encoding="utf-8").strip() or None
    return None


def seed_demo(platform: Platform, now: datetime | None = None) -> DemoPlan:
    now = now or datetime.now(UTC)
    plan = demo_plan(now)
    registry = platform.registry
    for site in DEMO_SITES:
        with contextlib.suppress(Conflict):
            registry.create_site(SiteCreate(**site))  # type: ignore[arg-type]
    # The demo kitchen closes two minutes after the start, so the closing-time check runs.
    registry.update_site(
        "solgardens-kok",
        SiteUpdate(opening_hours=plan.opening_hours()),  # type: ignore[arg-type]
    )
    _seed_care_unit(platform)
    for device in DEMO_DEVICES:
        with contextlib.suppress(Conflict):
            registry.create(DeviceCreate(**device), now=now)  # type: ignore[arg-type]
    _seed_resident(platform, plan, now)
    log.info(
        "demo: kitchen closes %s, night check at %s (Europe/Stockholm)",
        plan.closing_local,
        plan.check_local,
    )
    return plan


def demo_logins(platform: Platform) -> dict[str, tuple[str, str]]:
    """Each demo device's MQTT login, issued anew at every start (device id → user, password).

    Empty when the platform issues no logins (an external broker without dynamic security).
    """
    issuer = platform.mqtt_issuer
    if issuer is None:
        return {}
    registry = platform.registry
    logins: dict[str, tuple[str, str]] = {}
    for spec in DEMO_DEVICES:
        device = registry.get(str(spec["id"]))
        creds = issuer.issue(device.id, device.refs)
        registry.set_mqtt_username(device.id, creds.username)
        logins[device.id] = (creds.username, creds.password)
    log.info("demo: MQTT logins issued for %d simulated devices", len(logins))
    return logins


def _seed_care_unit(platform: Platform) -> None:
    try:
        from devices.schemas import CareUnitCreate

        with contextlib.suppress(Conflict):
            platform.registry.create_care_unit(CareUnitCreate(**DEMO_CARE_UNIT))
    except Exception as exc:  # the registry without care units: the demo goes on
        log.warning("demo: no care unit (%s)", exc)


def _seed_resident(platform: Platform, plan: DemoPlan, now: datetime) -> None:
    """A resident with consent, the bed sensor bound, and tonight's check at ``plan.check``."""
    service = platform.supervision
    try:
        from zoneinfo import ZoneInfo

        from supervision.schedule import night_of

        unit = str(DEMO_RESIDENT["care_unit_id"])
        resident = next(
            (r for r in service.residents.of_unit(unit) if r.label == DEMO_RESIDENT["label"]),
            None,
        )
        if resident is None:
            resident = service.residents.create(
                str(DEMO_RESIDENT["label"]), unit, actor=ACTOR, now=now
            )
            service.consents.record(resident.id, party="resident", scope=["sensor"],
                                    given_on=now.date(), actor=ACTOR, now=now)  # fmt: skip
            service.bindings.bind(resident.id, "sang-rum-12", actor=ACTOR, now=now)
        for old in service.schedules.of(resident.id):
            service.schedules.end(resident.id, old.id, now=now)
        night = night_of(plan.check, ZoneInfo("Europe/Stockholm"))
        service.schedules.add(resident.id, method="sensor", times=[plan.check_local],
                              valid_from=night, valid_to=None, actor=ACTOR, now=now)  # fmt: skip
        service.refresh()
    except Exception as exc:  # supervision is young; the building demo must not depend on it
        log.warning("demo: could not seed the resident and night check (%s)", exc)
