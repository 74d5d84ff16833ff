"""One process per data directory: an exclusive ``flock`` on ``data_dir/kommunvakt.lock``,
held for the life of the process.

The embedded SQLite database, the readings, the care readings and the spool all live in the
data directory; two processes writing them would each think they are the only gateway. The
kernel drops the lock when the process ends, however it ends (kill -9 included), so a stale
lock file never blocks a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from core.private_files import private_file
from gateway.errors import GatewayError

__all__ = ["LOCK_FILE", "DataDirLock"]

LOCK_FILE = "kommunvakt.lock"


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> DataDirLock:
        fh = private_file(self.path).open("a+")  # 0600 like every file in the data directory
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise GatewayError(
                f"another kommunvakt process (pid {holder}) is using the data directory "
                f"{self.path.parent.resolve()}; one data directory serves one process. "
                "To run a second instance, give it its own KOMMUNVAKT_DATA_DIR and share "
                "PostgreSQL (KOMMUNVAKT_DATABASE_URL) and an external MQTT broker "
                "(KOMMUNVAKT_MQTT_URL): see docs/production.md"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
