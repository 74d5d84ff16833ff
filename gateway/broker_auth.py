"""The embedded broker's login and topic checks, answered by our account store.

One amqtt plugin does both, so the grant found at CONNECT is the one every PUBLISH, SUBSCRIBE
and delivery of that connection is checked against (``devices.mqtt_accounts``). Beyond the
grants:

- a will is a publish the broker makes later on the client's behalf: a will on a topic the
  account may not publish on refuses the login.
- a client id belongs to the first account that used it; the gateway's client id prefix is
  its own from the start. amqtt resumes a persistent session by client id, so another account
  reusing the gateway's id would otherwise inherit its subscriptions to every topic.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from devices.mqtt_accounts import Grant, MqttAccounts

__all__ = ["AccountPlugin"]

_ANONYMOUS = Grant("(anonymous)", "anonymous", ("#",), ("#",))


class AccountPlugin(BaseAuthPlugin, BaseTopicPlugin):  # type: ignore[misc]  # amqtt is untyped
    @dataclass
    class Config:
        #: the account store (an object: amqtt passes a field typed ``Any`` through as is)
        accounts: Any = None
        #: client ids starting with this are the gateway's
        gateway_client_id: str = "kommunvakt-gateway"
        #: only for a benchmark or a closed lab: anyone may connect and do anything
        allow_anonymous: bool = False

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        accounts = self._get_config_option("accounts")
        if not isinstance(accounts, MqttAccounts):
            raise TypeError("AccountPlugin needs the MqttAccounts store as 'accounts'")
        self._accounts = accounts
        self._gateway_prefix: str = self._get_config_option("gateway_client_id")
        self._allow_anonymous: bool = self._get_config_option("allow_anonymous")
        self._grants: dict[str, Grant] = {}
        self._owners: dict[str, str] = {}

    async def authenticate(self, *, session: Session) -> bool | None:
        client_id = session.client_id or ""
        # a refused login leaves the grant of the connection it tried to take over alone
        grant = await self._login(session)
        if grant is None:
            self.context.logger.warning("MQTT login refused for client %r", client_id[:64])
            return False
        owner = self._owners.get(client_id)
        if client_id.startswith(self._gateway_prefix):
            owner = self._accounts.gateway_username
        if owner is not None and owner != grant.username:
            self.context.logger.warning(
                "MQTT login of %s refused: client id %r belongs to another account",
                grant.username,
                client_id[:64],
            )
            return False
        if session.will_flag and not grant.may_publish(session.will_topic or ""):
            self.context.logger.warning(
                "MQTT login of %s refused: its will is on a topic it may not publish on",
                grant.username,
            )
            return False
        self._owners[client_id] = grant.username
        self._grants[client_id] = grant
        return True

    async def _login(self, session: Session) -> Grant | None:
        if not session.username:
            return _ANONYMOUS if self._allow_anonymous else None
        # argon2 and the database: off the broker's event loop
        return await asyncio.to_thread(
            self._accounts.login, session.username, session.password or ""
        )

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        if session is None or topic is None:
            return False
        grant = self._grants.get(session.client_id or "")
        if grant is None:
            return False
        if action == Action.PUBLISH:
            allowed = grant.may_publish(topic)
        else:  # SUBSCRIBE, and RECEIVE (each delivery, checked again against the grant)
            allowed = grant.may_subscribe(topic)
        if not allowed and action != Action.RECEIVE:
            self.context.logger.warning(
                "MQTT %s of %s on %r refused",
                "publish" if action == Action.PUBLISH else "subscribe",
                grant.username,
                topic[:120],
            )
        return allowed
