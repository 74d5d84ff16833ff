"""What the benchmarks share: a real Mosquitto, the gateway as a real process, machine facts.

Nothing here is imported by the product. The gateway runs as ``kommunvakt run`` (the way an
operator starts it) so that its RSS is the process's own, not the harness's.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import httpx

__all__ = [
    "GatewayProcess",
    "Mosquitto",
    "free_port",
    "load",
    "machine",
    "register_devices",
    "rss_mb",
]

#: the source tree the gateway runs from: this checkout, or ``KV_BENCH_SRC`` (a snapshot, so
#: a benchmark can run while the checkout is mid-edit)
SOURCE = Path(os.environ.get("KV_BENCH_SRC", Path(__file__).resolve().parents[1]))
TOKEN = "bench-admin-token-0123456789abcdef"  # noqa: S105 (a throwaway local platform)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def load() -> str:
    """``uptime``'s load averages: the machine is shared, so every figure carries them."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} × {cpu}, {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, CPython {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def rss_mb(pid: int) -> tuple[float, float]:
    """Current and peak resident set size of a process, in MiB (from /proc)."""
    now = peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return now, peak


class Mosquitto:
    """Mosquitto as production would run it for a gateway that may be down: no queue limit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            "max_queued_messages 0\npersistence false\n"
        )
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdout=(self.workdir / "mosquitto.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def register_devices(data_dir: Path, devices: Iterable[tuple[str, str]]) -> int:
    """Write ``(id, type)`` devices straight into the registry database, in one transaction.

    Registering 10,000 devices one API call at a time would take minutes; the gateway reads
    the same rows when it starts.
    """
    from sqlalchemy import insert

    from core.db import make_engine
    from devices.migrate import prepare_database
    from devices.models import DeviceRefRow, DeviceRow, SiteRow

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{(data_dir / 'kommunvakt.db').resolve()}")
    prepare_database(engine)
    rows = list(devices)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(SiteRow), [{"id": "bench-site", "name": "Benchmark"}])
        conn.execute(
            insert(DeviceRow),
            [
                {"id": i, "type": t, "name": i, "site_id": "bench-site", "installed_at": now}
                for i, t in rows
            ],
        )
        conn.execute(
            insert(DeviceRefRow), [{"device_id": i, "source": "native", "ref": i} for i, _ in rows]
        )
    engine.dispose()
    return len(rows)


class GatewayProcess:
    """``kommunvakt run`` against an external broker, with its counters read from /metrics."""

    def __init__(self, data_dir: Path, mqtt_url: str, client_id: str, **env: str) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.client_id = client_id
        self.env = {
            **os.environ,
            "KOMMUNVAKT_DATA_DIR": str(data_dir),
            "KOMMUNVAKT_API_PORT": str(self.api_port),
            "KOMMUNVAKT_MQTT_URL": mqtt_url,
            "KOMMUNVAKT_MQTT_CLIENT_ID": client_id,
            "KOMMUNVAKT_ADMIN_TOKEN": TOKEN,
            "KOMMUNVAKT_LOG_LEVEL": "WARNING",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run"],
            cwd=SOURCE,
            env=self.env,
            stdout=(self.data_dir / "gateway.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log_tail()}")
            try:
                if self._http.get("/healthz").status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError("gateway did not become healthy")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        resp = self._http.get("/metrics")
        resp.raise_for_status()
        for line in resp.text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def log_tail(self) -> str:
        path = self.data_dir / "gateway.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        self._http.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
