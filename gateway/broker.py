"""The embedded MQTT broker (amqtt) on its own thread and event loop.

It serves a demo and a small site: MQTT 3.1.1 only, and it lives and dies with the process.
Production uses Mosquitto (``KOMMUNVAKT_MQTT_URL``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
from concurrent.futures import Future
from typing import Any

from devices.mqtt_accounts import MqttAccounts
from gateway.errors import BrokerStartError

__all__ = ["EmbeddedBroker", "ensure_port_free"]

log = logging.getLogger(__name__)


def ensure_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BrokerStartError(
                    f"MQTT port {host}:{port} is already in use; set KOMMUNVAKT_MQTT_PORT "
                    "to a free port or KOMMUNVAKT_MQTT_URL to use the broker running there"
                ) from exc
            raise BrokerStartError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


class EmbeddedBroker:
    """Every client logs in: the gateway, each device with its issued credentials, the camera
    system (``gateway.broker_auth``); ``allow_anonymous`` is for a benchmark, never a site."""

    def __init__(
        self,
        host: str,
        port: int,
        accounts: MqttAccounts,
        *,
        gateway_client_id: str,
        allow_anonymous: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self._accounts = accounts
        self._gateway_client_id = gateway_client_id
        self._allow_anonymous = allow_anonymous
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None

    def start(self, timeout: float = 15.0) -> None:
        ensure_port_free(self.host, self.port)
        started: Future[None] = Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="amqtt", daemon=True
        )
        self._thread.start()
        try:
            started.result(timeout)
        except BrokerStartError:
            raise
        except Exception as exc:
            raise BrokerStartError(f"embedded broker did not start: {exc}") from exc
        log.info("embedded MQTT broker (amqtt) listening on %s:%d", self.host, self.port)
        if self._allow_anonymous:
            log.warning("the embedded MQTT broker lets anyone in (KOMMUNVAKT_MQTT_ALLOW_ANONYMOUS)")

    def _run(self, started: Future[None]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except Exception as exc:
            started.set_exception(exc)
            return
        started.set_result(None)
        self._loop.run_forever()

    async def _start(self) -> None:
        from amqtt.broker import Broker  # imported here: amqtt is heavy and only the demo needs it

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "gateway.broker_auth.AccountPlugin": {
                    "accounts": self._accounts,
                    "gateway_client_id": self._gateway_client_id,
                    "allow_anonymous": self._allow_anonymous,
                },
            },
        }
        self._broker = Broker(config)
        await self._broker.start()

    def stop(self) -> None:
        if self._loop is None or self._broker is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            fut.result(10)
        except Exception as exc:  # shutting down: report, do not raise
            log.warning("embedded broker shutdown: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
