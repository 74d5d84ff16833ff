"""The ``mqtt-setup`` compose service: the broker's least-privilege accounts, before the platform.

Runs once per ``docker compose up`` as the dynamic-security admin (made by ``mosquitto_ctrl
dynsec init``) and creates or updates, with the passwords from ``.env``:

- the gateway's login (``MQTT_GATEWAY_USER``), role ``kommunvakt-gateway``: it subscribes to
  and receives the device topics of every payload family and the camera-check events, and
  publishes nothing. It has no right on ``$CONTROL``.
- the credentials login (``MQTT_CREDENTIALS_USER``), role ``kommunvakt-credentials``: it may
  only send dynamic-security commands and read their answers (``$CONTROL/dynamic-security/v1``),
  which is how the platform issues and disables devices' logins. It reads no device topic.

The admin account itself is used for nothing else; keep its password out of every service but
the broker's and this one.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from devices.dynsec import CONTROL_TOPIC, RESPONSE_TOPIC, DynsecAdmin
from ingest.formats import FormatRouter
from supervision.settings import SupervisionSettings

__all__ = ["CREDENTIALS_ROLE", "GATEWAY_ROLE", "gateway_topics", "setup"]

log = logging.getLogger("kommunvakt.mqtt_setup")

GATEWAY_ROLE = "kommunvakt-gateway"
CREDENTIALS_ROLE = "kommunvakt-credentials"


def gateway_topics() -> list[str]:
    """What the gateway subscribes to: every payload family's topics and the camera events."""
    camera = SupervisionSettings.model_validate({}).camera_topic
    return sorted({*FormatRouter().subscriptions, camera})


def _acl(kind: str, topic: str) -> dict[str, Any]:
    return {"acltype": kind, "topic": topic, "priority": 0, "allow": True}


def _role(name: str, acls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # deleting first makes a re-run converge on exactly these ACLs
    return [{"command": "deleteRole", "rolename": name},
            {"command": "createRole", "rolename": name, "acls": acls}]  # fmt: skip


def _client(username: str, password: str, role: str) -> list[dict[str, Any]]:
    return [
        {"command": "deleteClient", "username": username},
        {
            "command": "createClient",
            "username": username,
            "password": password,
            "roles": [{"rolename": role, "priority": 0}],
        },
    ]


def setup(
    admin: DynsecAdmin,
    gateway: tuple[str, str],
    credentials: tuple[str, str],
) -> None:
    gateway_acls = [
        acl for t in gateway_topics() for acl in (_acl("subscribePattern", t),
                                                   _acl("publishClientReceive", t))
    ]  # fmt: skip
    credential_acls = [
        _acl("publishClientSend", CONTROL_TOPIC),
        _acl("subscribePattern", RESPONSE_TOPIC),
        _acl("publishClientReceive", RESPONSE_TOPIC),
    ]
    commands = [
        *_role(GATEWAY_ROLE, gateway_acls),
        *_role(CREDENTIALS_ROLE, credential_acls),
        *_client(*gateway, GATEWAY_ROLE),
        *_client(*credentials, CREDENTIALS_ROLE),
    ]
    for r in admin.execute(commands):
        if r.get("error") and r.get("command") not in ("deleteClient", "deleteRole"):
            raise RuntimeError(f"dynamic security refused {r.get('command')}: {r['error']}")
    log.info("MQTT accounts ready: gateway %s, credentials %s", gateway[0], credentials[0])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    setup(
        DynsecAdmin.from_url(os.environ["MQTT_SETUP_ADMIN_URL"]),
        (os.environ["MQTT_GATEWAY_USER"], os.environ["MQTT_GATEWAY_PASSWORD"]),
        (os.environ["MQTT_CREDENTIALS_USER"], os.environ["MQTT_CREDENTIALS_PASSWORD"]),
    )


if __name__ == "__main__":
    main()
