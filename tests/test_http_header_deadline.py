"""Slowloris: connections that never finish their request headers are closed by the server at
a fixed deadline, on ``kommunvakt run`` as an operator starts it; real requests still work."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.slowloris import PARTIAL, half_open, serving
from tests.support.net import free_port

DEADLINE_S = 2.0


def test_kommunvakt_run_closes_half_open_connections(platform_factory: Any, tmp_path: Path) -> None:
    proc = platform_factory(
        tmp_path / "data", env={"KOMMUNVAKT_API_HEADER_TIMEOUT_S": str(DEADLINE_S)}
    ).start()
    result = half_open("127.0.0.1", proc.api_port, count=300, wait_s=DEADLINE_S + 6)
    assert result.closed_by_server == 300, result
    assert result.all_closed_after_s is not None
    assert result.all_closed_after_s < DEADLINE_S + 6
    assert httpx.get(f"{proc.base_url}/healthz", timeout=5).status_code == 200


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock``; None if it is still open after ``seconds``."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
    return None


def test_trickling_bytes_does_not_move_the_deadline(platform: Any) -> None:
    from gateway.app import create_app
    from gateway.http_server import server_config

    port = free_port()
    with serving(server_config(create_app(platform), "127.0.0.1", port, DEADLINE_S)):
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(PARTIAL)
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < DEADLINE_S + 4:
            try:
                slow.sendall(b"x")  # one byte of a header value, now and then
            except OSError:
                closed = True
                break
            if _closed_within(slow, 0.5) is not None:
                closed = True
                break
        assert closed
        assert time.monotonic() - started < DEADLINE_S + 2
        slow.close()

        # a kept-alive connection: the first request is answered, the half-sent second is not
        kept = socket.create_connection(("127.0.0.1", port))
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        kept.settimeout(5)
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        kept.sendall(PARTIAL)
        after = _closed_within(kept, DEADLINE_S + 4)
        assert after is not None
        assert after >= DEADLINE_S - 0.5
        kept.close()

        # a request sent at a human pace within the deadline is served
        ok = socket.create_connection(("127.0.0.1", port))
        ok.sendall(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(0.3)  # the pause between two writes of one client is what is tested
        ok.sendall(b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
        ok.settimeout(5)
        assert ok.recv(4096).startswith(b"HTTP/1.1 200")
        ok.close()
