"""A loopback HTTP server that answers InfluxDB's ``/api/v2/query`` with no rows and keeps
each request body: the query and the ``extern`` exactly as influxdb-client sent them.

Lets a test take what ``InfluxReadingStore`` really sends (the client's own serialisation of
its parameters) to the Flux checker where no InfluxDB 2 runs.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["captured_queries"]


@contextmanager
def captured_queries() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Yields (url, bodies): the server's URL and the list each query body is appended to."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            if self.path.startswith("/api/v2/query"):
                bodies.append(json.loads(raw))
                body = b"\r\n"  # an annotated CSV without tables: no rows
                self.send_response(200)
                self.send_header("Content-Type", "text/csv; charset=utf-8")
            else:
                body = b'{"code":"not found","message":"only /api/v2/query here"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
