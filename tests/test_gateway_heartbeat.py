"""The dead man's switch: a healthy instance pings a URL each interval (a real HTTP receiver on
loopback); the pings stop within one interval when the process dies, and while it is
unhealthy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.heartbeat import Heartbeat
from tests.support.net import free_port, wait_for


class PingReceiver:
    """Keeps the monotonic arrival time of every GET (an Uptime Kuma push monitor's shape)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.pings: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with receiver.lock:
                    receiver.pings.append((self.path, time.monotonic()))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def times(self) -> list[float]:
        with self.lock:
            return [t for _p, t in self.pings]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[PingReceiver]:
    r = PingReceiver()
    yield r
    r.stop()


@pytest.mark.slow
def test_pings_stop_within_one_interval_of_the_process_dying(
    platform_factory: Any, receiver: PingReceiver, tmp_path: Path
) -> None:
    proc = platform_factory(
        tmp_path / "kv",
        env={
            "KOMMUNVAKT_HEARTBEAT_URL": receiver.url("/api/push/k0mmunvakt?status=up"),
            "KOMMUNVAKT_HEARTBEAT_INTERVAL_S": "1",
        },
    ).start()
    wait_for(lambda: len(receiver.times()) >= 3, 10, what="three heartbeats")
    assert receiver.pings[0][0] == "/api/push/k0mmunvakt?status=up"
    gaps = [b - a for a, b in zip(receiver.times(), receiver.times()[1:], strict=False)]
    assert all(0.5 < g < 2.0 for g in gaps), gaps
    proc.kill()
    died = time.monotonic()
    time.sleep(2.5)  # the absence of a ping cannot be awaited: watch two more intervals
    after = [t for t in receiver.times() if t > died]
    assert after == []
    assert "k0mmunvakt" not in proc.output()  # the URL's secret is never logged


def test_no_ping_while_unhealthy(receiver: PingReceiver) -> None:
    healthy = threading.Event()
    healthy.set()
    beat = Heartbeat(receiver.url("/ping/abc"), 0.2, healthy.is_set)
    beat.start()
    try:
        wait_for(lambda: len(receiver.times()) >= 2, 5, what="heartbeats while healthy")
        healthy.clear()
        time.sleep(0.3)  # a ping already under way may still land
        withheld_from = time.monotonic()
        wait_for(lambda: beat.skipped >= 3, 5, what="three intervals unhealthy")
        assert [t for t in receiver.times() if t > withheld_from] == []
        healthy.set()
        count = len(receiver.times())
        wait_for(lambda: len(receiver.times()) > count, 5, what="heartbeats again when healthy")
    finally:
        beat.stop()


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "nohost"])
def test_a_bad_heartbeat_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        Heartbeat(url, 30, lambda: True)


def test_settings_refuse_a_bad_heartbeat_url(tmp_path: Path) -> None:
    from gateway.settings import load_settings

    with pytest.raises(ValueError, match="heartbeat URL must be an http"):
        load_settings(data_dir=tmp_path, heartbeat_url="udp://monitor:9")
