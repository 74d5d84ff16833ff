"""Real notification receivers on loopback: an SMTP server (aiosmtpd) and an HTTP receiver.

apprise talks to them exactly as to production services: ``mailto://127.0.0.1:PORT?...``
(SMTP without TLS: ``mode=insecure``) and ``json://127.0.0.1:PORT/path``.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.net import free_port

__all__ = ["JsonSink", "Mail", "SmtpSink", "ack_link"]

ACK_LINK = re.compile(r"https?://\S+/ack/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


def ack_link(text: str) -> str:
    found = ACK_LINK.search(text)
    assert found is not None, f"no acknowledge link in {text!r}"
    return found.group(0)


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    subject: str
    body: str
    received: float  # time.time() when the server had it
    headers: tuple[tuple[str, str], ...] = ()  # every header as sent, repeated ones too

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = msg.get_body(("plain",))  # type: ignore[attr-defined]
        body = part.get_content() if part is not None else ""
        mail = Mail(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            str(msg["subject"]),
            body,
            time.time(),
            tuple((k, str(v)) for k, v in msg.items()),
        )
        with self.sink.lock:
            self.sink.mails.append(mail)
        return "250 OK"


class SmtpSink:
    """An SMTP server that keeps every mail; ``stop()`` and ``start()`` simulate an outage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mails: list[Mail] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def url(self, to: str = "jour@kommun.example") -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=larm@kommun.example&to={to}&mode=insecure"
            "&name=kommunvakt"
        )

    def start(self) -> SmtpSink:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        with self.lock:
            return [m.subject for m in self.mails]

    def matching(self, prefix: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if m.subject.startswith(prefix)]


class JsonSink:
    """An HTTP server that keeps every JSON body POSTed to it, per path, with arrival time."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, dict[str, Any], float]] = []
        #: (path, request headers) of every POST, in order
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with sink.lock:
                    sink.received.append((self.path, body, time.time()))
                    sink.requests.append((self.path, dict(self.headers.items())))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self) -> JsonSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for p, body, _t in self.received if p == "/" + path.lstrip("/")]
