"""Half-open connections (slowloris) on loopback: how many the API server closes, how soon.

``python -m benchmarks.slowloris [--sockets 500] [--wait 15]`` serves the app twice on a free
loopback port, first as plain uvicorn (the baseline) and then as ``kommunvakt run`` serves it
(``gateway.http_server``), opens the given number of connections to each (half send nothing,
half an unfinished header), and reports how many the server closed within the wait. The
count and the wait are bounded; nothing but 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

__all__ = ["HalfOpen", "half_open", "serving"]

PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@dataclass(frozen=True, slots=True)
class HalfOpen:
    opened: int
    closed_by_server: int
    #: seconds until the server had closed the last one; None when some were still open
    all_closed_after_s: float | None


def half_open(host: str, port: int, count: int = 500, wait_s: float = 15.0) -> HalfOpen:
    """Open ``count`` connections that never finish a request; wait for the server to close
    them, at most ``wait_s`` seconds; close what is left."""
    socks: list[socket.socket] = []
    selector = selectors.DefaultSelector()
    try:
        for i in range(count):
            sock = socket.create_connection((host, port), timeout=5)
            if i % 2:
                sock.sendall(PARTIAL)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            socks.append(sock)
        started = time.monotonic()
        remaining = len(socks)
        while remaining and time.monotonic() - started < wait_s:
            for key, _events in selector.select(timeout=0.25):
                sock = key.fileobj  # type: ignore[assignment]
                try:
                    data = sock.recv(4096)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if not data:  # the server closed it (anything it sent first is read above)
                    selector.unregister(sock)
                    remaining -= 1
        elapsed = time.monotonic() - started
        return HalfOpen(count, count - remaining, None if remaining else round(elapsed, 2))
    finally:
        selector.close()
        for sock in socks:
            sock.close()


@contextmanager
def serving(config: uvicorn.Config) -> Iterator[uvicorn.Server]:
    """``config``'s server in a thread until the block ends."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    from gateway.app import create_app
    from gateway.http_server import server_config
    from gateway.platform import Platform
    from gateway.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--wait", type=float, default=15.0)
    parser.add_argument("--header-timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    count = max(1, min(args.sockets, 5000))
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(load_settings(data_dir=Path(tmp), admin_token="b" * 32))
        platform.start(mqtt=False)
        try:
            app: Any = create_app(platform)
            runs = {
                "uvicorn defaults": uvicorn.Config(
                    app, host="127.0.0.1", port=_free_port(), log_level="warning"
                ),
                f"kommunvakt run ({args.header_timeout:g} s)": server_config(
                    app, "127.0.0.1", _free_port(), args.header_timeout
                ),
            }
            for name, config in runs.items():
                with serving(config):
                    result = half_open("127.0.0.1", config.port, count, args.wait)
                print(
                    f"{name}: {result.closed_by_server}/{result.opened} half-open connections "
                    f"closed by the server within {args.wait:g} s"
                    + (
                        f" (all after {result.all_closed_after_s} s)"
                        if result.all_closed_after_s
                        else ""
                    )
                )
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
