"""The MQTT side of the gateway. paho-mqtt is imported here and nowhere else.

QoS 1, a persistent session under a stable client id (clean_session=False), and manual
acknowledgement: the pipeline acknowledges a message only after it is stored, in arrival
order, so a crash loses nothing. Reconnects back off exponentially with full jitter, capped,
and every connect subscribes again.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from gateway.settings import MqttTarget

__all__ = ["Backoff", "MqttSource"]

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes, int, int], None]


class Backoff:
    """Capped exponential backoff with full jitter (AWS architecture blog, 2015)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base, self.cap, self.attempt = base, cap, 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        delay = self._rng.uniform(0, min(self.cap, self.base * 2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


class MqttSource:
    def __init__(
        self,
        target: MqttTarget,
        client_id: str,
        topics: Sequence[str],
        on_message: OnMessage,
        *,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        keepalive: int = 30,
    ) -> None:
        self.target = target
        self.topics = list(topics)
        self._on_message_cb = on_message
        self._keepalive = keepalive
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.connects = 0
        self.backoff = Backoff()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        # The broker limits what is in flight to us; our own queue limits the rest.
        self._client.max_inflight_messages_set(1000)
        if target.username:
            self._client.username_pw_set(target.username, target.password)
        if target.tls or ca_file:
            self._client.tls_set(
                ca_certs=str(ca_file) if ca_file else None,
                certfile=str(cert_file) if cert_file else None,
                keyfile=str(key_file) if key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    # paho callbacks run on the network thread: keep them tiny.
    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT broker %r refused the connection: %s", self.target, reason)
            return
        self.connects += 1
        self.backoff.reset()
        if self.topics:
            client.subscribe([(t, 1) for t in self.topics])
        else:
            self.connected.set()
        log.info(
            "connected to MQTT broker %r, subscribing to %s", self.target, ", ".join(self.topics)
        )

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[object], _p: object
    ) -> None:
        # Healthy only once the broker has granted the subscriptions, not at CONNACK.
        failed = [r for r in reasons if getattr(r, "is_failure", False)]
        if failed:
            log.error("MQTT broker refused %d of our subscriptions: %s", len(failed), failed)
        self.connected.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from MQTT broker %r: %s", self.target, reason)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self._on_message_cb(msg.topic, msg.payload, msg.mid, msg.qos)

    def ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self._client.ack(mid, qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self._client.publish(topic, payload, qos=qos)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                if first:
                    self._client.connect(self.target.host, self.target.port, self._keepalive)
                    first = False
                else:
                    self._client.reconnect()
            except (OSError, ValueError) as exc:
                delay = self.backoff.next()
                log.warning(
                    "cannot reach MQTT broker %r (%s); retrying in %.1f s", self.target, exc, delay
                )
                self._stop.wait(delay)
                continue
            while not self._stop.is_set():
                rc = self._client.loop(timeout=0.5)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            if not self._stop.is_set():
                self._stop.wait(self.backoff.next())

    def stop(self) -> None:
        self._stop.set()
        try:
            self._client.disconnect()
        except Exception as exc:  # stopping anyway
            log.debug("disconnect: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout=5)
