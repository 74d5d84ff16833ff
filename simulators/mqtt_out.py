"""Publishing simulated messages over MQTT with paho, bounded and paced.

``Publisher`` is one MQTT connection (a device, a bridge or a fleet shard). QoS 1
publications wait for a free slot (``max_pending``) before they are handed to paho, whose own
outgoing queue has no bound: a slow broker slows the simulator down instead of filling its
memory. ``drop()`` kills the TCP connection without a DISCONNECT, which is what makes a
broker publish the connection's last will, exactly as when a real device loses power.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.model import SimMessage

__all__ = ["Pacer", "Publisher", "parse_mqtt_url"]

log = logging.getLogger(__name__)


def parse_mqtt_url(url: str) -> tuple[str, int, str | None, str | None]:
    """``mqtt://[user[:pass]@]host[:port]`` → host, port, user, password."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"MQTT URL must be mqtt://host[:port], not {url!r}")
    if not parts.hostname:
        raise ValueError(f"MQTT URL {url!r} has no host")
    return parts.hostname, parts.port or 1883, parts.username, parts.password


class Pacer:
    """Holds a loop to ``rate`` events per second (``None``: as fast as it goes).

    It sleeps only when it is ahead by more than a few milliseconds, so a high rate does not
    cost a sleep call per message, and it never tries to catch up more than one second of
    lag in a burst (a stalled broker must not be followed by a flood).
    """

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._next: float | None = None

    def wait(self) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        if self._next is None:
            self._next = now
        self._next = max(self._next + 1.0 / self.rate, now - 1.0)
        ahead = self._next - now
        if ahead > 0.005:
            time.sleep(ahead)


class Publisher:
    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        will: SimMessage | None = None,
        max_pending: int = 200,
        clean_session: bool = True,
        login: tuple[str, str] | None = None,
    ) -> None:
        host, port, user, password = parse_mqtt_url(url)
        if login is not None:  # the device's own login wins over the URL's
            user, password = login
        self.host, self.port = host, port
        self.client_id = client_id
        self.published = 0
        self._slots = threading.BoundedSemaphore(max_pending)
        self._max_pending = max_pending
        self._connected = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=mqtt.MQTTv311,
        )
        self._client.max_inflight_messages_set(min(max_pending, 1000))
        if user:
            self._client.username_pw_set(user, password)
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish

    def _on_connect(self, *_args: object) -> None:
        self._connected.set()

    def _on_publish(self, *_args: object) -> None:
        self.published += 1
        self._slots.release()

    def start(self, timeout: float = 10.0) -> Publisher:
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            raise TimeoutError(
                f"MQTT broker {self.host}:{self.port} did not accept {self.client_id}"
            )
        return self

    def publish(self, msg: SimMessage) -> None:
        if msg.qos == 0:
            self._client.publish(msg.topic, msg.payload, qos=0, retain=msg.retain)
            return
        self._slots.acquire()
        info = self._client.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            self._slots.release()
            raise RuntimeError(f"publish on {msg.topic} failed: {mqtt.error_string(info.rc)}")

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every QoS 1 publication is acknowledged by the broker."""
        deadline = time.monotonic() + timeout
        taken = 0
        try:
            while taken < self._max_pending:
                if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return False
                taken += 1
            return True
        finally:
            for _ in range(taken):
                self._slots.release()

    def drop(self) -> None:
        """Lose the connection without a DISCONNECT: the broker publishes the will."""
        self._client.loop_stop()
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError as exc:  # already gone
                log.debug("drop %s: %s", self.client_id, exc)
            sock.close()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
