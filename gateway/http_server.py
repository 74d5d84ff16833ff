"""How the API is served: uvicorn with h11, and a deadline for each request's headers.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but it sets no
deadline for the request line and headers themselves: a client that connects and sends
nothing, or half a header and then a byte now and then (slowloris), holds a socket, a file
descriptor and a buffer for as long as it likes; 20,000 of them stayed open. The protocol
below closes a connection whose request headers are not complete ``header_timeout_s`` after
the connection was opened, or after the first byte of a following request on a kept-alive
connection. The deadline is fixed when it starts: trickling bytes does not move it. Bodies
are bounded by the security middleware's size limit; a proxy in front (nginx's
``client_header_timeout``) does the same job and may stay.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeaderDeadlineProtocol", "header_deadline_protocol", "server_config"]


class HeaderDeadlineProtocol(H11Protocol):
    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_headers():
            self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        # h11 leaves the client IDLE until a whole request line and its headers have arrived
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _expire(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers():
            self.transport.close()


def header_deadline_protocol(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class with its deadline: uvicorn builds one instance per connection."""
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout_s": seconds})


def server_config(app: Any, host: str, port: int, header_timeout_s: float) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=header_deadline_protocol(header_timeout_s),
        timeout_keep_alive=5,
        # an open night board is a long request (SSE): it must not hold up a stop
        timeout_graceful_shutdown=5,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; the app believes it
        # only from settings.trusted_proxies (access.setup)
        proxy_headers=False,
    )
