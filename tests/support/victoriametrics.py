"""A real VictoriaMetrics (Debian's package): it speaks InfluxDB's ``/api/v2/write``.

Started by a test on a free loopback port with its own storage directory; ``stop()`` and
``start()`` again keep the data and the port, so a test can take the server away and bring it
back. Readings come back through ``/api/v1/export``: VictoriaMetrics names a series
``<measurement>_<field>`` with the line's tags as labels, and it keeps a sample written twice
at the same timestamp twice (no deduplication unless asked), so the export shows duplicates.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port, wait_for

__all__ = ["VictoriaMetrics", "victoria_metrics_binary"]


def victoria_metrics_binary() -> str | None:
    for candidate in (shutil.which("victoria-metrics"), "/usr/bin/victoria-metrics"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class VictoriaMetrics:
    def __init__(
        self, workdir: Path, port: int | None = None, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.workdir = workdir
        self.extra_args = extra_args
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.workdir / "victoria-metrics.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> VictoriaMetrics:
        binary = victoria_metrics_binary()
        assert binary, "victoria-metrics is not installed (make test installs it)"
        self.proc = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'data'}",
                "-retentionPeriod=100y",  # the default month would drop older test readings
                "-loggerLevel=ERROR",
                *self.extra_args,
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited: {self.log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 20, what="victoria-metrics healthy")
        return self

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel's backlog), nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: it takes up whatever waited in its sockets, timed-out requests included."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Graceful stop: it flushes what it took to disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def export(self, match: str = '{__name__!=""}') -> list[dict[str, Any]]:
        """Every series with its raw samples (duplicates included)."""
        resp = httpx.post(
            f"{self.url}/api/v1/export", data={"match[]": match, "start": "0"}, timeout=30
        )
        resp.raise_for_status()
        return [json.loads(line) for line in resp.text.splitlines() if line.strip()]

    def samples(self) -> list[tuple[str, dict[str, str], int, float]]:
        """(name, labels, timestamp ms, value) for every stored sample."""
        out = []
        for series in self.export():
            labels = dict(series["metric"])
            name = labels.pop("__name__")
            for ts, value in zip(series["timestamps"], series["values"], strict=True):
                out.append((name, labels, int(ts), float(value)))
        return out
