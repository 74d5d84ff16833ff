"""The gateway lease: the pure decisions (table-driven, ``now`` passed in), the SQL claim on a
real PostgreSQL (two holders, one winner, the database's clock), and the outbox fence."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from alerts.outbox import Outbox
from alerts.store import AlertStore
from core.db import make_engine, make_sessionmaker
from devices.migrate import prepare_database
from devices.models import GatewayLeaseRow
from gateway.lease import (
    Claim,
    LeaseRecord,
    LeaseTimes,
    Standing,
    after_claim,
    claim,
    is_active,
    unattended_s,
)
from gateway.lease_keeper import LeaseKeeper
from gateway.lease_sql import SqlLease, lease_engine
from tests.support.net import wait_for

T0 = datetime(2026, 12, 4, 2, 10, tzinfo=UTC)
TEN = timedelta(seconds=10)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


CLAIMS = [
    # (case, current row, me, my token, now, held, token, expires_at written or None)
    (
        "never held: the first claim takes it",
        LeaseRecord(None, 0, _at(-1e6)),
        "a",
        None,
        0,
        True,
        1,
        10,
    ),
    (
        "vacant after the holder died: next token",
        LeaseRecord("b", 4, _at(-1)),
        "a",
        None,
        0,
        True,
        5,
        10,
    ),
    ("expires exactly now: vacant", LeaseRecord("b", 4, _at(0)), "a", None, 0, True, 5, 10),
    ("mine and valid: renewed, same token", LeaseRecord("a", 4, _at(3)), "a", 4, 0, True, 4, 10),
    (
        "mine but lapsed: a new epoch, not a renewal",
        LeaseRecord("a", 4, _at(-1)),
        "a",
        4,
        0,
        True,
        5,
        10,
    ),
    (
        "someone else's and valid: not mine",
        LeaseRecord("b", 4, _at(6)),
        "a",
        None,
        0,
        False,
        4,
        None,
    ),
    (
        "my name, another token (a stale grant)",
        LeaseRecord("a", 5, _at(6)),
        "a",
        4,
        0,
        False,
        5,
        None,
    ),
    ("my name, no token of mine", LeaseRecord("a", 5, _at(6)), "a", None, 0, False, 5, None),
]


@pytest.mark.parametrize(
    ("case", "current", "me", "my_token", "now", "held", "token", "expires"),
    CLAIMS,
    ids=[c[0] for c in CLAIMS],
)
def test_claim(
    case: str,
    current: LeaseRecord,
    me: str,
    my_token: int | None,
    now: float,
    held: bool,
    token: int,
    expires: float | None,
) -> None:
    outcome = claim(current, me, my_token, _at(now), TEN)
    assert (outcome.held, outcome.token) == (held, token), case
    if expires is None:
        assert outcome.write is None
        assert outcome.remaining_s == (current.expires_at - _at(now)).total_seconds()
    else:
        assert outcome.write == LeaseRecord(me, token, _at(expires))
        assert outcome.remaining_s == 10


TIMES = LeaseTimes(duration_s=10, renew_s=3, margin_s=1)
HELD = Claim(LeaseRecord("a", 7, _at(10)), True, 7, "a", 10.0)
THEIRS = Claim(None, False, 7, "b", 4.0)
VACANT = Claim(None, False, 7, None, -2.0)

STANDINGS = [
    # (case, before, outcome, sent_at, after)
    (
        "granted: valid from the send, less the margin",
        Standing(),
        HELD,
        100.0,
        Standing(7, 109.0, 100.0),
    ),
    ("renewed: extended", Standing(7, 104.0, 95.0), HELD, 101.0, Standing(7, 110.0, 101.0)),
    (
        "database unreachable: nothing extended",
        Standing(7, 104.0, 95.0),
        None,
        101.0,
        Standing(7, 104.0, 95.0),
    ),
    (
        "taken over: the token is gone",
        Standing(7, 104.0, 95.0),
        THEIRS,
        101.0,
        Standing(None, -math.inf, 101.0),
    ),
    (
        "vacant: no holder seen",
        Standing(None, -math.inf, 90.0),
        VACANT,
        101.0,
        Standing(None, -math.inf, 90.0),
    ),
]


@pytest.mark.parametrize(
    ("case", "before", "outcome", "sent_at", "after"),
    STANDINGS,
    ids=[c[0] for c in STANDINGS],
)
def test_after_claim(
    case: str, before: Standing, outcome: Claim | None, sent_at: float, after: Standing
) -> None:
    assert after_claim(before, outcome, sent_at, TIMES) == after, case


ACTIVE = [
    ("no grant", Standing(), 0.0, False),
    ("within the grant", Standing(7, 109.0, 100.0), 108.9, True),
    ("at its end", Standing(7, 109.0, 100.0), 109.0, False),
    # frozen at 101 by SIGSTOP, woken at 130: the first look says no, before anything acts
    ("woken from a freeze past the grant", Standing(7, 109.0, 100.0), 130.0, False),
]


@pytest.mark.parametrize(("case", "standing", "now", "active"), ACTIVE, ids=[c[0] for c in ACTIVE])
def test_is_active(case: str, standing: Standing, now: float, active: bool) -> None:
    assert is_active(standing, now) is active, case


def test_unattended_counts_from_start_then_from_the_last_holder_seen() -> None:
    assert unattended_s(Standing(), 50.0, started_at=20.0) == 30.0
    assert unattended_s(Standing(None, -math.inf, 45.0), 50.0, started_at=20.0) == 5.0


@pytest.mark.parametrize(
    ("duration", "renew", "margin", "reason"),
    [
        (5, 3, 1, "at least twice the renew interval"),
        (10, 0, 1, "renew interval must be > 0"),
        (10, 3, -1, "margin >= 0"),
    ],
)
def test_lease_times_refused_with_a_reason(
    duration: float, renew: float, margin: float, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        LeaseTimes(duration, renew, margin)


def test_takeover_bound() -> None:
    assert LeaseTimes(10, 3).takeover_bound_s == 13


# -- on a real PostgreSQL ---------------------------------------------------------------------


@pytest.fixture
def pg_url(pg_cluster: object) -> str:
    url = str(pg_cluster.create_database())  # type: ignore[attr-defined]
    engine = make_engine(url)
    prepare_database(engine)
    engine.dispose()
    return url


@pytest.mark.postgres
def test_sql_claim_renew_release_and_takeover(pg_url: str) -> None:
    engine = lease_engine(pg_url, 2.0)
    a, b = SqlLease(engine, "g1"), SqlLease(engine, "g1")
    a.ensure_row()
    b.ensure_row()  # a second ensure leaves the row alone
    first = a.claim("a", None, 10)
    assert (first.held, first.token) == (True, 1)
    assert not b.claim("b", None, 10).held
    assert a.claim("a", 1, 10).token == 1  # renewed
    assert a.release("a", 1)
    taken = b.claim("b", None, 10)
    assert (taken.held, taken.token) == (True, 2)
    assert not a.claim("a", 1, 10).held  # the old token renews nothing
    assert not a.release("a", 1)
    other = SqlLease(engine, "g2")  # another gateway group: its own row and epochs
    other.ensure_row()
    assert other.claim("a", None, 10).token == 1
    engine.dispose()


@pytest.mark.postgres
def test_sql_claims_at_the_same_moment_have_one_winner(pg_url: str) -> None:
    engine = lease_engine(pg_url, 5.0)
    SqlLease(engine, "g").ensure_row()
    barrier = threading.Barrier(4)
    outcomes: list[Claim] = []

    def contend(me: str) -> None:
        own = lease_engine(pg_url, 5.0)
        lease = SqlLease(own, "g")
        barrier.wait()
        outcomes.append(lease.claim(me, None, 10))
        own.dispose()

    threads = [threading.Thread(target=contend, args=(f"i{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.held for o in outcomes) == [False, False, False, True]
    assert {o.token for o in outcomes} == {1}
    engine.dispose()


@pytest.mark.postgres
def test_outbox_head_is_fenced_by_the_database_clock(pg_url: str) -> None:
    engine = make_engine(pg_url)
    outbox = Outbox(make_sessionmaker(engine))
    lease_db = lease_engine(pg_url, 2.0)
    lease = SqlLease(lease_db, "default")
    lease.ensure_row()
    held = lease.claim("a", None, 30)
    sessions = make_sessionmaker(engine)
    alert, _ = AlertStore(sessions).fire("frys-1", "freezer_too_warm", "critical", T0)
    item = outbox.enqueue(alert.id, "raise", "ch", "json://x", "jour", "t", "b", "critical", T0)
    assert outbox.head("ch") is not None  # unfenced: the single-instance path
    assert outbox.head("ch", ("default", "a", held.token)) is not None
    assert outbox.head("ch", ("default", "a", held.token - 1)) is None  # a stale token
    assert outbox.head("ch", ("default", "b", held.token)) is None  # not the holder
    # expired by the database's clock, whatever this process believes
    with engine.begin() as conn:
        conn.execute(update(GatewayLeaseRow).values(expires_at=T0))
    assert outbox.head("ch", ("default", "a", held.token)) is None
    head = outbox.head("ch")
    assert head is not None
    assert head.id == item
    engine.dispose()
    lease_db.dispose()


# -- the keeper: a backend over the pure claim (our own seam), a monotonic clock we move -----


class MemoryLease:
    """A LeaseBackend in memory, deciding with the same ``claim`` as the SQL one."""

    group = "g"

    def __init__(self, holder: str | None = None, expires_in: float = -1.0) -> None:
        self.now = T0
        self.record = LeaseRecord(holder, 3, T0 + timedelta(seconds=expires_in))
        self.down = False

    def ensure_row(self) -> None:
        pass

    def claim(self, me: str, my_token: int | None, duration_s: float) -> Claim:
        if self.down:
            raise OperationalError("SELECT", {}, ConnectionError("database down"))
        outcome = claim(self.record, me, my_token, self.now, timedelta(seconds=duration_s))
        if outcome.write is not None:
            self.record = outcome.write
        return outcome

    def release(self, me: str, token: int) -> bool:
        return False


def _keeper(
    backend: MemoryLease, mono: list[float], times: LeaseTimes
) -> tuple[Any, dict[str, Any]]:
    seen: dict[str, Any] = {"acquired": [], "lost": threading.Event(), "alarms": []}
    keeper = LeaseKeeper(
        backend,
        times,
        on_acquired=seen["acquired"].append,
        on_lost=seen["lost"].set,
        on_unattended=lambda alarm, gap: seen["alarms"].append(alarm),
        alarm_after_s=times.takeover_bound_s,
        me="a",
        monotonic=lambda: mono[0],
    )
    return keeper, seen


def test_keeper_woken_from_a_freeze_acts_no_more_and_steps_down() -> None:
    mono = [100.0]
    keeper, seen = _keeper(MemoryLease(), mono, TIMES)
    keeper.start()
    try:
        assert seen["acquired"] == [4]
        assert keeper.held()
        assert keeper.fence() == ("g", "a", 4)
        mono[0] = 130.0  # SIGSTOP at 100, SIGCONT at 130: the grant ran out meanwhile
        assert not keeper.held()  # the first question after waking, before any watchdog
        assert keeper.fence() is None
        assert seen["lost"].wait(2)
    finally:
        keeper.stop()


def test_keeper_standby_alarms_when_no_holder_is_seen_past_the_bound() -> None:
    mono = [100.0]
    backend = MemoryLease(holder="b", expires_in=5.0)
    fast = LeaseTimes(duration_s=1.0, renew_s=0.05, margin_s=0.1)
    keeper, seen = _keeper(backend, mono, fast)
    keeper.start()
    try:
        assert seen["acquired"] == []  # b holds it
        assert not keeper.held()
        backend.down = True
        mono[0] = 102.0  # past the bound (1.05 s) with nobody seen
        wait_for(lambda: seen["alarms"] == [True], 5, what="the alarm")
        backend.down = False
        backend.now = T0 + timedelta(seconds=2)  # b's row still valid: a holder again
        wait_for(lambda: seen["alarms"] == [True, False], 5, what="the alarm resolved")
        assert seen["acquired"] == []
    finally:
        keeper.stop()
