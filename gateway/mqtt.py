"""The MQTT side of the gateway. paho-mqtt is imported here and nowhere else.

QoS 1, a persistent session under a stable client id (clean_session=False), and manual
acknowledgement: the pipeline acknowledges a message only after it is stored, in arrival
order, so a crash loses nothing. Reconnects back off exponentially with full jitter, capped
at two seconds (a broker that is back should not wait for us: what devices publish before we
resubscribe to a lost session is dropped), and every connect subscribes again.

A target may list several addresses (the nodes of a clustered broker, or a broker and its
standby): the client stays on the address that works; when it cannot connect, or the
connection is lost and the same address does not take it back at once, it tries the next one
immediately, and backs off only after every address failed in a row. The client id and the
persistent session go along: a cluster that shares sessions (EMQX, HiveMQ, NATS with
JetStream) redelivers what was not acknowledged; a standby that does not is a lost session,
detected as below.

Every connect checks the broker's "session present" flag. A broker that lost our session (it
died before saving it, or its persistence is off) has dropped every message published for us
since: that is logged and counted (``sessions_lost``; the platform's clock turns the count
into an operator alert, off this thread). Once a session existed, every later connect
expects it; across restarts of the gateway, a marker file (``session_marker``) says the
broker has held our session before.

The network loop is ours (paho's documented external-loop API: ``socket``, ``loop_read``,
``loop_write``, ``loop_misc``) for two reasons found by profiling the ingest benchmark:
``Client.loop()`` reads one packet per ``select``, and ``ack()`` from the pipeline thread
made one PUBACK write per message from a second thread (paho's out queue has no lock, so
two threads writing it could also interleave). Now the pipeline only queues its acks; the
network thread reads in bursts and writes every pending PUBACK, in order, as one packet.
paho also reads a packet in three to four ``recv`` calls (type, length bytes, body), so a
plain socket is wrapped to read 64 KiB at a time (``_BufferedSocket``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import ssl
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.matcher import MQTTMatcher

from core.mqtt_target import MqttTarget

__all__ = ["Backoff", "MqttSource"]

log = logging.getLogger(__name__)

#: (topic, payload, mid, qos, retain): a retained message is the broker's stored copy, sent
#: again on every subscribe, not news from the device
OnMessage = Callable[[str, bytes, int, int, bool], None]

_PUBACK = struct.Struct("!BBH")  # MQTT 3.1.1 §3.4: fixed header 0x40, remaining length 2, mid
_MID_MASK = 0xFFFF
#: packets read per readable socket before looking at acks and keepalive again
_READ_BURST = 512
#: the longest wait between two connect attempts: short, so a broker that is back is used at once
RECONNECT_CAP_S = 2.0


class _BufferedSocket:
    """A plain socket whose ``recv`` serves small reads from one large read.

    ``pending()`` says how many bytes wait in the buffer, so ``_serve`` does not block in
    ``select`` while they do (the same contract as ``ssl.SSLSocket.pending``).
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._buf):
            data = self._sock.recv(65536)  # BlockingIOError when empty, b"" at EOF
            if not data:
                return data
            self._buf, self._pos = data, 0
        chunk = self._buf[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk

    def pending(self) -> int:
        return len(self._buf) - self._pos

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


class _Matcher(MQTTMatcher):
    """paho walks its per-topic callback trie for every message, even empty (we add none):
    about a tenth of the network thread in the ingest profile. Skip the walk when empty."""

    def iter_match(self, topic: str) -> Iterator[object]:
        if not self._root._children:
            return iter(())
        return super().iter_match(topic)  # type: ignore[no-untyped-call,no-any-return]


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
        session_marker: Path | None = None,
        may_run: Callable[[], bool] = lambda: True,
    ) -> None:
        self.target = target
        #: asked before every connect and every read: False once this instance has lost the
        #: gateway lease, so a process that wakes from a freeze neither reads nor reconnects
        #: (which would take the shared session back from the instance that took over)
        self._may_run = may_run
        self.topics = list(topics)
        self._on_message_cb = on_message
        self._keepalive = keepalive
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.connects = 0
        self.sessions_lost = 0
        self.backoff = Backoff(base=0.25, cap=RECONNECT_CAP_S)
        self._session_marker = session_marker
        self._addresses = target.addresses
        self._at = 0  # the address in use, or tried next
        where = ",".join(f"{host}:{port}" for host, port in self._addresses)
        self._session_key = f"{client_id}@{where}"
        self._expect_session = (
            session_marker is not None
            and session_marker.is_file()
            and session_marker.read_text().strip() == self._session_key
        )
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
        if isinstance(getattr(self._client, "_on_message_filtered", None), MQTTMatcher):
            self._client._on_message_filtered = _Matcher()  # type: ignore[no-untyped-call]  # private in paho 2.x
        self.messages = 0
        self.stale_acks = 0
        # Acks the pipeline queued: (generation | mid, qos). The generation (connect count in
        # the bits above the 16-bit mid) keeps an ack of a message from a lost connection off
        # the new one, where the broker redelivers that message and may reuse its mid.
        self._generation = 0
        self._acks: deque[tuple[int, int]] = deque()
        self._ack_signalled = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._client.on_subscribe = self._on_subscribe

    # paho callbacks run on the network thread: keep them tiny.
    def _on_connect(
        self, client: mqtt.Client, _u: object, flags: mqtt.ConnectFlags, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT broker %s:%d refused the connection: %s", *self.address, reason)
            return
        self.connects += 1
        self._check_session(bool(flags.session_present))
        raw = getattr(client, "_sock", None)
        if type(raw) is socket.socket:  # private in paho 2.x; TLS sockets stay as they are
            client._sock = _BufferedSocket(raw)  # type: ignore[assignment]
        self._generation = (self.connects & 0x7FFF) << 16
        self.backoff.reset()
        if self.topics:
            client.subscribe([(t, 1) for t in self.topics])
        else:
            self.connected.set()
        log.info(
            "connected to MQTT broker %s:%d, subscribing to %s",
            *self.address,
            ", ".join(self.topics),
        )

    def _check_session(self, present: bool) -> None:
        expected, self._expect_session = self._expect_session, True
        if expected and not present:
            self.sessions_lost += 1
            log.warning(
                "MQTT broker %r had lost our session (restarted before saving it?): messages "
                "published for the gateway while it was away were dropped by the broker; "
                "subscribing again",
                self.target,
            )
        if not expected and self._session_marker is not None:
            try:
                self._session_marker.write_text(self._session_key + "\n")
            except OSError as exc:
                log.warning("cannot write %s: %s", self._session_marker, exc)

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, _mid: int, reasons: Sequence[object], _p: object
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
            log.warning("disconnected from MQTT broker %s:%d: %s", *self.address, reason)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self.messages += 1
        if not self._may_run():
            return  # not acknowledged: the broker redelivers it to the active instance
        # a received message's payload is bytes (paho types it bytes | bytearray for publish)
        self._on_message_cb(
            msg.topic,
            bytes(msg.payload) if isinstance(msg.payload, bytearray) else msg.payload,
            msg.mid | self._generation,
            msg.qos,
            msg.retain,
        )

    def ack(self, mid: int, qos: int) -> None:
        """Queue an acknowledgement (any thread); the network thread sends it, in order."""
        if qos > 0:
            self._acks.append((mid, qos))
            if not self._ack_signalled:
                self._ack_signalled = True
                with contextlib.suppress(BlockingIOError, OSError):
                    self._wake_w.send(b"\0")

    def _flush_acks(self) -> None:
        """On the network thread: every queued PUBACK of this connection as one write."""
        # Clear the flag before draining: an ack appended after this line signals again.
        self._ack_signalled = False
        if not self._acks:
            return
        generation = self._generation
        packet = bytearray()
        while self._acks:
            mid, qos = self._acks.popleft()
            if mid & ~_MID_MASK != generation:
                self.stale_acks += 1
                continue
            if qos == 1:
                packet += _PUBACK.pack(mqtt.PUBACK, 2, mid & _MID_MASK)
            else:
                self._queue_pubacks(packet)
                packet = bytearray()
                self._client.ack(mid & _MID_MASK, qos)
        self._queue_pubacks(packet)

    def _queue_pubacks(self, packet: bytearray) -> None:
        if not packet:
            return
        queue_packet = getattr(self._client, "_packet_queue", None)
        if queue_packet is not None:
            # Private in paho 2.x, hence the fallback: many PUBACKs in one write.
            queue_packet(mqtt.PUBACK, bytes(packet), 0, 0)
            return
        for offset in range(0, len(packet), _PUBACK.size):  # pragma: no cover
            self._client.ack(_PUBACK.unpack_from(packet, offset)[2], 1)

    def _serve(self) -> MQTTErrorCode:
        """One turn of the network loop: wait, read a burst, send acks and writes, keepalive."""
        client = self._client
        sock = client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        # A buffered or TLS socket may hold bytes select() cannot see.
        pending = sock.pending() if hasattr(sock, "pending") else 0
        writers = [sock] if client.want_write() else []
        try:
            readable, _w, _x = select.select(
                [sock, self._wake_r], writers, [], 0.0 if pending else 1.0
            )
        except (OSError, ValueError, TypeError):
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if self._wake_r in readable:
            with contextlib.suppress(BlockingIOError, OSError):
                self._wake_r.recv(4096)
        if sock in readable or pending:
            for _ in range(_READ_BURST):
                before = self.messages
                rc = client.loop_read()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    return rc
                if self.messages == before:
                    break
        self._flush_acks()
        if client.want_write():
            rc = client.loop_write()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        return client.loop_misc()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self._client.publish(topic, payload, qos=qos)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        """The broker address in use (or tried next)."""
        return self._addresses[self._at]

    def _run(self) -> None:
        failed = 0  # connect attempts failed in a row, over every address
        while not self._stop.is_set():
            if not self._may_run():
                self._leave()
                return
            host, port = self.address
            connects = self.connects
            try:
                # connect() (not reconnect()) every time: it may be another address now
                self._client.connect(host, port, self._keepalive)
            except (OSError, ValueError) as exc:
                failed += 1
                # one warning per outage (the connect log says when it is over), not one a
                # second; an outage that began with a lost connection was logged by that
                level = logging.WARNING if failed == 1 and self.connects == 0 else logging.DEBUG
                log.log(level, "cannot reach MQTT broker %s:%d (%s)", host, port, exc)
                self._next_address(failed)
                if failed % len(self._addresses) == 0:
                    log.log(
                        level,
                        "no MQTT broker address of %r answers; retrying every %.0f s at most",
                        self.target,
                        RECONNECT_CAP_S,
                    )
                    self._stop.wait(self.backoff.next())
                continue
            while not self._stop.is_set():
                if not self._may_run():
                    self._leave()
                    return
                rc = self._serve()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            if self.connects == connects:
                # connected but never accepted (refused, or dropped before CONNACK): as a failure
                failed += 1
                self._next_address(failed)
            else:
                # lost after it worked: the same address first (a blip), then the others
                failed = 0
            if not self._stop.is_set():
                self._stop.wait(self.backoff.next())

    def _next_address(self, failed: int) -> None:
        n = len(self._addresses)
        if n > 1:
            self._at = (self._at + 1) % n
            # the first round of an outage is worth reading in the log, not every round after
            level = logging.INFO if failed <= n else logging.DEBUG
            log.log(level, "MQTT: trying broker address %s:%d next", *self.address)

    def _leave(self) -> None:
        """On the network thread, when no longer allowed to run: drop the connection without
        another read or acknowledgement; the broker keeps the session for whoever holds it."""
        log.warning("MQTT client %r stops: this instance no longer holds the lease", self.target)
        self.connected.clear()
        sock = self._client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        self._stop.set()
        try:
            self._client.disconnect()
        except Exception as exc:  # stopping anyway
            log.debug("disconnect: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._wake_r.close()
        self._wake_w.close()
