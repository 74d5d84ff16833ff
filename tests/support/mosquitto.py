"""A real Mosquitto, started by a test on a free loopback port with its own config."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.net import free_port, wait_port

__all__ = ["Mosquitto", "mosquitto_binary"]


def mosquitto_binary() -> str | None:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class Mosquitto:
    def __init__(self, workdir: Path, extra_conf: str = "", port: int | None = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.extra_conf = extra_conf
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> Mosquitto:
        binary = mosquitto_binary()
        assert binary, "mosquitto is not installed (make test installs it)"
        self.conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            # a gateway that is down must not lose what waits for it (default is 1000)
            "max_queued_messages 0\n"
            "persistence false\n"
            f"{self.extra_conf}\n"
        )
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port)
        return self

    def kill(self) -> None:
        """kill -9: nothing is saved that was not saved before."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
