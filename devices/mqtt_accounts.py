"""MQTT logins of the embedded broker: who may connect, and what each may publish and read.

The embedded broker (``gateway.broker``) asks this store at every CONNECT. Three kinds of
account:

- the gateway: its password is made at each start and lives only in this process's memory;
  it may subscribe to everything and publish nothing.
- a device: issued at registration (``issue_mqtt_credentials``) or later, like Mosquitto's
  dynamic security does in production; it publishes only on its own topics
  (``devices.mqtt_acl``) and reads only its own downlinks. A retired device may not log in.
- the camera system: the only account that may publish camera-check events.

Passwords are shown once and kept as argon2id hashes; they are never logged.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime
from devices.errors import NotFound
from devices.mqtt_acl import (
    CAMERA_TOPIC,
    covers,
    device_publish_topics,
    device_subscribe_topics,
)
from devices.registry import DeviceRegistry
from devices.schemas import DeviceRef, MqttCredentials

__all__ = ["CAMERA_USERNAME", "Grant", "MqttAccountRow", "MqttAccounts"]

log = logging.getLogger(__name__)

CAMERA_USERNAME = "camera-system"
# the same cost as the web sign-in (access.users): ~30 ms per CONNECT
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# verified against an unknown username, so both answers take the same time
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class MqttAccountRow(Base):
    __tablename__ = "mqtt_accounts"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # device | camera
    device_id: Mapped[str | None] = mapped_column(String(64), default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class Grant:
    """What one logged-in account may do: topic filters it may publish on and subscribe to."""

    username: str
    role: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    def may_publish(self, topic: str) -> bool:
        return any(covers(f, topic) for f in self.publish)

    def may_subscribe(self, topic_filter: str) -> bool:
        return any(covers(f, topic_filter) for f in self.subscribe)


class MqttAccounts:
    def __init__(
        self,
        sessions: Callable[[], Session],
        registry: DeviceRegistry,
        *,
        gateway_username: str | None,
        gateway_password: str | None,
        camera_topic: str = CAMERA_TOPIC,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        # None for the command line, which issues logins but serves no broker
        self.gateway_username = gateway_username
        self._gateway_hash = _hasher.hash(gateway_password) if gateway_password else None
        self.camera_topic = camera_topic
        self._clock = clock

    def _store(self, username: str, role: str, device_id: str | None) -> str:
        password = secrets.token_urlsafe(24)
        with self._sessions() as s:
            row = s.get(MqttAccountRow, username)
            if row is None:
                row = MqttAccountRow(username=username, role=role, created_at=self._clock())
                s.add(row)
            row.password_hash = _hasher.hash(password)
            row.role, row.device_id, row.disabled = role, device_id, False
            s.commit()
        return password

    def issue(self, device_id: str, refs: Iterable[DeviceRef] = ()) -> MqttCredentials:
        """A new login for the device (replacing any earlier one), shown once."""
        username = f"dev-{device_id}"
        password = self._store(username, "device", device_id)
        # the API audits every issue; the demo issues a login per device at each start
        log.debug("issued MQTT credentials for device %s (user %s)", device_id, username)
        return MqttCredentials(
            username=username,
            password=password,
            publish_topics=device_publish_topics(device_id, refs),
        )

    def issue_camera(self) -> MqttCredentials:
        """A new login for the camera system (replacing any earlier one), shown once."""
        password = self._store(CAMERA_USERNAME, "camera", None)
        log.info("issued MQTT credentials for the camera system (user %s)", CAMERA_USERNAME)
        return MqttCredentials(
            username=CAMERA_USERNAME, password=password, publish_topics=[self.camera_topic]
        )

    def disable(self, username: str) -> None:
        with self._sessions() as s:
            row = s.get(MqttAccountRow, username)
            if row is not None:
                row.disabled = True
                s.commit()
        log.info("disabled MQTT client %s", username)

    def login(self, username: str, password: str) -> Grant | None:
        """The account's grant, or None: unknown, wrong password, disabled, retired device."""
        if self.gateway_username is not None and secrets.compare_digest(
            username, self.gateway_username
        ):
            if self._gateway_hash is None or not _verify(self._gateway_hash, password):
                return None
            return Grant(username, "gateway", (), ("#",))
        with self._sessions() as s:
            row = s.get(MqttAccountRow, username)
            stored = None if row is None else (row.password_hash, row.role, row.device_id)
            disabled = row is not None and row.disabled
        if stored is None:
            _verify(_DUMMY_HASH, password)
            return None
        password_hash, role, device_id = stored
        if not _verify(password_hash, password) or disabled:
            return None
        if role == "camera":
            return Grant(username, role, (self.camera_topic,), ())
        if role != "device" or device_id is None:
            return None
        try:
            device = self._registry.get(device_id)
        except NotFound:
            return None
        if device.state == "retired":
            return None
        return Grant(
            username,
            role,
            tuple(device_publish_topics(device.id, device.refs)),
            tuple(device_subscribe_topics(device.id)),
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
