"""Which gateway of a group is the active one: a lease in the database, with a fencing token.

Two or more ``kommunvakt run`` instances share one PostgreSQL. One row per gateway group says
who holds the lease, until when (the database's clock) and with which fencing token (one more
on every takeover). The holder renews it every ``renew_s``; when it stops renewing (killed,
frozen, cut off from the database), the row expires and the next standby to look takes it over
with the next token.

Two clocks, on purpose. The row's expiry is the database's ``now()``: the instances' wall
clocks may disagree, the database's is one. Whether *this* process may still act is its own
monotonic clock: the grant runs from the moment the claim was *sent* (before the database
stamped it) for the remaining time the database granted, less a margin. So the holder always
stops believing in its grant before the row expires for everybody else, and a process that
was frozen (SIGSTOP, a paused VM) sees at once when it wakes that its grant is gone, before it
reads a socket or sends a message.

This module is the pure part (``claim``, ``after_claim``, ``is_active``): ``now`` and the
monotonic time are passed in. ``gateway.lease_sql`` runs a claim in one transaction;
``gateway.lease_keeper`` runs the claims on a thread and starts and stops the active work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "Claim",
    "LeaseRecord",
    "LeaseTimes",
    "Role",
    "Standing",
    "after_claim",
    "claim",
    "is_active",
    "unattended_s",
]

Role = Literal["active", "standby", "takeover"]


@dataclass(frozen=True, slots=True)
class LeaseTimes:
    """``duration_s``: how long a claim holds; ``renew_s``: how often the holder renews and a
    standby looks; ``margin_s``: how much sooner than the database the holder stops trusting
    its grant (covers the two clocks' rates and the time a step-down takes)."""

    duration_s: float = 10.0
    renew_s: float = 3.0
    margin_s: float = 1.0

    def __post_init__(self) -> None:
        if self.renew_s <= 0 or self.margin_s < 0:
            raise ValueError("lease renew interval must be > 0 s and the margin >= 0 s")
        if self.duration_s < 2 * self.renew_s + self.margin_s:
            raise ValueError(
                f"lease duration {self.duration_s:g} s must be at least twice the renew interval "
                f"({self.renew_s:g} s) plus the margin ({self.margin_s:g} s): one late renewal "
                "must not cost the lease"
            )

    @property
    def takeover_bound_s(self) -> float:
        """The longest a group goes without an active gateway after the holder dies: its last
        renewal's full duration, plus one standby look."""
        return self.duration_s + self.renew_s


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The row as stored: ``holder`` None before anyone held it; ``expires_at`` database time."""

    holder: str | None
    token: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of one acquire-or-renew.

    ``write``: the record to store (None leaves the row alone). ``token`` and ``holder`` are
    ours when ``held``, the current holder's otherwise. ``remaining_s``: how long the record
    holds from the database's ``now`` (0 or less: nobody holds it).
    """

    write: LeaseRecord | None
    held: bool
    token: int
    holder: str | None
    remaining_s: float


def claim(
    current: LeaseRecord, me: str, my_token: int | None, now: datetime, duration: timedelta
) -> Claim:
    """Acquire or renew against the current row; ``now`` is the database's clock.

    A renewal needs the same holder *and* the same token, still valid: a grant that lapsed is
    never silently continued, even when nobody else took it, since this instance stepped down
    meanwhile. Anything expired is free for anybody, with the next token.
    """
    valid = current.expires_at > now
    if valid and current.holder == me and my_token is not None and current.token == my_token:
        new = LeaseRecord(me, current.token, now + duration)
    elif not valid:
        new = LeaseRecord(me, current.token + 1, now + duration)
    else:
        remaining = (current.expires_at - now).total_seconds()
        return Claim(None, False, current.token, current.holder, remaining)
    return Claim(new, True, new.token, me, duration.total_seconds())


@dataclass(frozen=True, slots=True)
class Standing:
    """What this instance believes, in its own monotonic seconds.

    ``token``: the fencing token while it holds a grant; ``valid_until``: when that grant
    runs out here; ``holder_seen_at``: the last time a valid holder (this one or another) was
    seen, for the standby's alarm.
    """

    token: int | None = None
    valid_until: float = -math.inf
    holder_seen_at: float = -math.inf


def after_claim(
    standing: Standing, outcome: Claim | None, sent_at: float, times: LeaseTimes
) -> Standing:
    """The standing after a claim sent at monotonic ``sent_at``; ``outcome`` None: the
    database could not be asked (a grant then runs out by itself, nothing is extended)."""
    if outcome is None:
        return standing
    if outcome.held:
        return Standing(outcome.token, sent_at + outcome.remaining_s - times.margin_s, sent_at)
    seen = sent_at if outcome.remaining_s > 0 else standing.holder_seen_at
    return Standing(None, -math.inf, seen)


def is_active(standing: Standing, now: float) -> bool:
    """May this instance act as the active one at monotonic ``now``?"""
    return standing.token is not None and now < standing.valid_until


def unattended_s(standing: Standing, now: float, started_at: float) -> float:
    """How long no valid holder has been seen (counted from ``started_at`` at first)."""
    return now - max(standing.holder_seen_at, started_at)
