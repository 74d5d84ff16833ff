"""Assembles the alerting parts from the settings (called once by ``gateway.platform``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from alerts.config import AlertingConfig
from alerts.engine import AlertEngine
from alerts.links import AckLinks, load_or_create_secret
from alerts.notify import Notifier
from alerts.outbox import LeaseFence, Outbox
from alerts.overrides import OverrideStore
from alerts.rulestate import RuleStateStore
from alerts.silences import SilenceStore
from alerts.store import AlertStore
from devices.registry import DeviceRegistry

if TYPE_CHECKING:
    from gateway.settings import Settings

__all__ = ["Alerting", "build_alerting"]


@dataclass(slots=True)
class Alerting:
    config: AlertingConfig
    store: AlertStore
    outbox: Outbox
    notifier: Notifier
    silences: SilenceStore
    overrides: OverrideStore
    links: AckLinks
    engine: AlertEngine


def build_alerting(
    settings: Settings,
    sessions: sessionmaker[Session],
    registry: DeviceRegistry,
    clock: Callable[[], datetime],
    *,
    fence: Callable[[], LeaseFence | None] | None = None,
) -> Alerting:
    config = settings.alerting
    store = AlertStore(sessions)
    outbox = Outbox(sessions)
    notifier = Notifier(
        config.recipient_list(list(settings.notify_urls)),
        outbox,
        clock,
        config.retry(),
        fence=fence,
    )
    silences = SilenceStore(sessions)
    overrides = OverrideStore(sessions)
    secret = (
        config.link_secret.get_secret_value().encode()
        if config.link_secret is not None
        else load_or_create_secret(settings.data_dir / "alert_link_secret")
    )
    links = AckLinks(secret, sessions, settings.public_url, config.link_ttl_s)
    engine = AlertEngine(
        store,
        notifier,
        registry,
        rule_overrides=settings.rule_overrides,
        base_url=settings.public_url,
        policy=config.follow_up(),
        silences=silences,
        links=links,
        api_overrides=overrides.layer,
        clock=clock,
        rule_states=RuleStateStore(sessions),
    )
    engine.announce.retention_days = (
        config.outbox_retention_days,
        config.delivery_log_retention_days,
    )
    return Alerting(config, store, outbox, notifier, silences, overrides, links, engine)
