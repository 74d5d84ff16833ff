"""The web session store and the sign-in rate limit in SQL: two stores over one database are
two instances; expiry (lifetime and idleness), pruning, and the sliding window, with ``now``
given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from access.sessions import (
    SESSION_IDLE,
    SESSION_TTL,
    RateLimiter,
    SessionStore,
    SignInAttemptRow,
    WebSessionRow,
)
from access.users import UserStore
from core.db import make_engine, make_sessionmaker
from devices.migrate import prepare_database

T0 = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'kv.db'}")
    prepare_database(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _rows(db: sessionmaker[Session], table: type[WebSessionRow | SignInAttemptRow]) -> int:
    with db() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_sessions_are_shared_expire_and_are_pruned(db: sessionmaker[Session]) -> None:
    users = UserStore(db)
    users.add("anna", "night_staff", T0, password="x" * 20, care_units=["*"])
    clock = Clock()
    a, b = SessionStore(db, users, clock), SessionStore(db, users, clock)
    sid, _ = a.create("anna")
    principal = b.get(sid)
    assert principal is not None
    assert principal.name == "anna"
    # used now and then: alive past the idle limit, until its lifetime ends
    for _ in range(int(SESSION_TTL / (SESSION_IDLE / 2))):
        clock.now += SESSION_IDLE / 2 - timedelta(seconds=1)
        assert b.get(sid) is not None
    clock.now = T0 + SESSION_TTL + timedelta(seconds=1)
    assert a.get(sid) is None
    assert _rows(db, WebSessionRow) == 0  # an expired session found is deleted at once
    # idle too long: over, and the row is gone when the next session is made
    clock.now = T0
    idle, _ = a.create("anna")
    clock.now += SESSION_IDLE + timedelta(seconds=1)
    assert _rows(db, WebSessionRow) == 1
    fresh, _ = b.create("anna")
    assert _rows(db, WebSessionRow) == 1  # the idle one made way
    assert a.get(idle) is None
    assert a.get(fresh) is not None
    # sign-out on one ends it on the other; a password change ends them all
    assert b.pop(fresh)
    assert a.get(fresh) is None
    again, _ = a.create("anna")
    users.set_password("anna", "y" * 20)
    assert b.get(again) is None


def test_rate_limit_window_is_shared_and_slides(db: sessionmaker[Session]) -> None:
    a = RateLimiter(db, 3, timedelta(minutes=1))
    b = RateLimiter(db, 3, timedelta(minutes=1))
    assert a.hit("10.0.0.1", T0)
    assert b.hit("10.0.0.1", T0 + timedelta(seconds=10))
    assert a.hit("10.0.0.1", T0 + timedelta(seconds=20))
    assert not b.hit("10.0.0.1", T0 + timedelta(seconds=30))  # refused, and not counted
    assert b.hit("10.0.0.2", T0 + timedelta(seconds=30))  # another source has its own
    assert a.hit("10.0.0.1", T0 + timedelta(minutes=1))  # the first one slid out
    assert not a.hit("10.0.0.1", T0 + timedelta(minutes=1, seconds=5))
    # old attempts are forgotten, whoever knocks next
    assert b.hit("10.0.0.3", T0 + timedelta(minutes=5))
    assert _rows(db, SignInAttemptRow) == 1
