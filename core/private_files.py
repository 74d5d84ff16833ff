"""The data directory holds password hashes, the audit log, outbox bodies with live acknowledge
links and care readings: only the account that runs the platform may read it.

The directory is made 0700 and every file 0600 at creation, whatever the process's umask, and
an existing installation made under umask 022 is tightened at start. A SQLite database file
is created here, empty and 0600, before SQLite opens it: SQLite gives its -wal, -shm and
-journal files the mode of the database file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "private_dir", "private_file", "sqlite_path"]

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
_SQLITE_SIDES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (its parents are left as they are)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty (when missing) or tightened to 0600, with SQLite's side files.

    A missing parent is created 0700; an existing one is left alone (a database configured at
    /srv/x.db must not change /srv): the data directory itself goes through ``private_dir``.
    """
    if not path.parent.is_dir():
        private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        _tighten(path, partial(os.fchmod, fd, FILE_MODE))
    finally:
        os.close(fd)
    for side in _SQLITE_SIDES:
        other = path.with_name(path.name + side)
        if other.exists():
            _tighten(other, partial(os.chmod, other, FILE_MODE))
    return path


def _tighten(path: Path, chmod: Callable[[], None]) -> None:
    try:
        chmod()
    except PermissionError:
        # another account owns it (a volume mounted from elsewhere): say so, do not stop
        log.warning("%s is not ours to make private (0600); check its owner and mode", path)


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///...`` URL; None for other databases and in-memory ones."""
    if not url.startswith("sqlite"):
        return None
    _scheme, _sep, rest = url.partition(":///")
    path = rest.split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return Path(path)
