"""The night board's change count across instances over PostgreSQL LISTEN/NOTIFY: a change
announced by one is counted by the other (not by itself), and a listener whose connection the
server cut reconnects by itself and counts once for what it may have missed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from core.db import make_engine
from gateway.board_notify import BoardNotify
from supervision.changes import BoardChanges
from tests.support.net import wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def two(pg_cluster: Any) -> Iterator[tuple[Engine, list[tuple[BoardNotify, BoardChanges]]]]:
    url = pg_cluster.create_database()
    engine = make_engine(url)
    pairs = []
    for _ in range(2):
        notify = BoardNotify(engine, url)
        changes = BoardChanges(announce=notify.announce)
        notify.start(changes.seen)
        pairs.append((notify, changes))
    try:
        for notify, _ in pairs:
            assert notify.listening.wait(10)
        yield engine, pairs
    finally:
        for notify, _ in pairs:
            notify.stop()
        engine.dispose()


def test_a_change_on_one_is_counted_on_the_other_and_a_cut_listener_comes_back(
    two: tuple[Engine, list[tuple[BoardNotify, BoardChanges]]],
) -> None:
    engine, [(_na, a), (nb, b)] = two
    before_a, before_b = a.version, b.version
    a.bump()
    wait_for(lambda: b.version == before_b + 1, 5, 0.02, what="B counts A's change")
    assert a.version == before_a + 1  # its own notification is not counted again
    # the server cuts B's listening connection: B reconnects and re-renders once
    with engine.begin() as conn:
        cut = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        ).scalar_one()
    assert cut == 2  # both listeners (A's too)
    wait_for(lambda: b.version >= before_b + 2, 10, 0.05, what="B counts the reconnect")
    wait_for(nb.listening.is_set, 10, 0.05, what="B listens again")
    now_b = b.version
    a.bump()
    wait_for(lambda: b.version == now_b + 1, 5, 0.02, what="B counts A's change again")
