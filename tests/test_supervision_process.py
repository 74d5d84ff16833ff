"""``kommunvakt run`` as a process: the night board streams over SSE, and an open board does
not hold up a stop (SIGINT)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.mark.mosquitto
def test_open_board_stream_does_not_block_stop(
    platform_factory: Any, mosquitto: Any, tmp_path: Path
) -> None:
    proc = platform_factory(tmp_path / "kv", mqtt_url=mosquitto.url).start()
    first_event = threading.Event()
    lines: list[str] = []

    def listen() -> None:
        headers = {"Authorization": f"Bearer {proc.token}"}
        try:
            with httpx.stream(
                "GET", f"{proc.base_url}/supervision/units/natt-x/events", headers=headers,
                timeout=httpx.Timeout(5, read=30),
            ) as resp:  # fmt: skip
                lines.append(f"status {resp.status_code} {resp.headers.get('content-type')}")
                for line in resp.iter_lines():
                    lines.append(line)
                    if line.startswith("event: board"):
                        first_event.set()
        except httpx.HTTPError as exc:
            lines.append(f"closed: {type(exc).__name__}")

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert first_event.wait(15), lines
    assert lines[0] == "status 200 text/event-stream; charset=utf-8"
    assert any("Inga tillsyner i natt" in line for line in lines)
    started = time.monotonic()
    proc.stop()
    assert proc.proc is not None
    assert proc.proc.returncode is not None
    assert time.monotonic() - started < 12
    reader.join(5)
    assert not reader.is_alive()
