"""Readings through a real broker (``mosquitto_pub -l``) and counted in the embedded store."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.mosquitto import Mosquitto

__all__ = ["T0", "publish", "start_publishing", "stored"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _lines(values: list[float], first: int) -> bytes:
    """One native message per value, a second apart from ``first`` seconds after ``T0``."""
    return "".join(
        json.dumps(
            {"time": (T0 + timedelta(seconds=first + i)).isoformat(), "values": {"temperature": v}}
        )
        + "\n"
        for i, v in enumerate(values)
    ).encode()


def _command(broker: Mosquitto, device: str) -> list[str]:
    return ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-l",
            "-t", f"kv/{device}/up"]  # fmt: skip


def publish(broker: Mosquitto, device: str, values: list[float], first: int = 0) -> None:
    subprocess.run(_command(broker, device), input=_lines(values, first), check=True, timeout=60)


def start_publishing(
    broker: Mosquitto, device: str, values: list[float], first: int = 0
) -> subprocess.Popen[bytes]:
    """The same in the background: wait() for it."""
    proc = subprocess.Popen(_command(broker, device), stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(_lines(values, first))
    proc.stdin.close()
    return proc


def stored(data_dir: Path, device: str) -> int:
    """Readings of a device in the embedded store: one row per device, metric and time, so a
    message the broker delivers twice (at least once) is counted once."""
    db = sqlite3.connect(f"file:{data_dir / 'readings.db'}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT count(*) FROM readings WHERE device_id = ?", (device,)).fetchone()
        return int(row[0])
    finally:
        db.close()
