"""The night board's changes across instances, over PostgreSQL ``LISTEN/NOTIFY``.

Every instance listens on one channel with its own connection (psycopg, autocommit) and counts
each notification another instance sent (``BoardChanges.seen``); a change made here is
announced with ``pg_notify`` after it was committed, so whoever re-renders on the notification
reads it. The payload is the sender's random id (no care data): an instance ignores its own.

A notification sent while a listener is not connected is lost to it; so on every (re)connect
the listener counts one change, and the boards re-render once, rather than trust that nothing
happened meanwhile. An announcement that fails (database away) is logged and dropped: the
change itself is stored, the boards elsewhere show it at their next re-render (the minute).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["CHANNEL", "BoardNotify", "libpq_dsn"]

log = logging.getLogger(__name__)

CHANNEL = "kommunvakt_board"
_RETRY_S = (0.5, 1.0, 2.0, 5.0)


def libpq_dsn(url: str) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://…``) as libpq takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class BoardNotify:
    """``announce`` for this instance's changes; ``start(seen)`` listens for the others'."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._dsn = libpq_dsn(url)
        self._me = secrets.token_hex(8)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: set while the listener is connected and listening
        self.listening = threading.Event()
        self._failing = False

    def announce(self) -> None:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": self._me})
                conn.commit()
        except SQLAlchemyError as exc:
            if not self._failing:
                log.warning("night board: could not tell the other instances of a change: %s", exc)
            self._failing = True
            return
        self._failing = False

    def start(self, seen: Callable[[], None]) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(seen,), name="board-listen", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, seen: Callable[[], None]) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                # keepalives: a silently dropped connection is found within about half a minute
                with psycopg.connect(
                    self._dsn,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if attempt:
                        log.info("night board: listening for other instances' changes again")
                    attempt = 0
                    seen()  # whatever was announced while not listening
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            if note.payload != self._me:
                                seen()
            except psycopg.Error as exc:
                self.listening.clear()
                if attempt == 0:
                    log.warning("night board: not listening for other instances' changes: %s", exc)
                self._stop.wait(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                attempt += 1
        self.listening.clear()
