"""The lease row in PostgreSQL: one claim is one short transaction on the database's clock.

``SELECT … FOR UPDATE`` locks the group's row, so two instances claiming at the same moment
are serialised by the database; the decision is ``gateway.lease.claim`` on the row and the
database's ``now()`` read in the same statement; the UPDATE writes it. The lease has its own
small engine with short connect and statement timeouts: a claim that cannot be answered in
time is a failed claim (the grant then runs out on its own), never a thread stuck for minutes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from devices.models import GatewayLeaseRow
from gateway.errors import GatewayError
from gateway.lease import Claim, LeaseRecord, claim

__all__ = ["SqlLease", "lease_engine"]

_EPOCH_SQL = "timestamptz 'epoch'"


def lease_engine(url: str, timeout_s: float) -> Engine:
    """A small pool of its own: the lease must not wait behind the API's queries."""
    if not url.startswith("postgresql"):
        raise GatewayError(
            "the gateway lease needs PostgreSQL (KOMMUNVAKT_DATABASE_URL=postgresql+psycopg://…)"
        )
    ms = max(int(timeout_s * 1000), 100)
    connect_args: dict[str, Any] = {
        "connect_timeout": max(int(timeout_s), 1),
        "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
    }
    return create_engine(
        url, pool_size=1, max_overflow=1, pool_pre_ping=True, connect_args=connect_args
    )


class SqlLease:
    def __init__(self, engine: Engine, group: str) -> None:
        self._engine = engine
        self.group = group
        self.queries = 0  # statements sent, for the benchmark and /metrics

    def ensure_row(self) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(GatewayLeaseRow)
                .values(group_name=self.group, holder=None, token=0, expires_at=text(_EPOCH_SQL))
                .on_conflict_do_nothing(index_elements=["group_name"])
            )
        self.queries += 1

    def claim(self, me: str, my_token: int | None, duration_s: float) -> Claim:
        lease = GatewayLeaseRow
        with self._engine.begin() as conn:
            row = conn.execute(
                select(lease.holder, lease.token, lease.expires_at, func.now())
                .where(lease.group_name == self.group)
                .with_for_update()
            ).one()
            self.queries += 1
            now = row[3]
            outcome = claim(
                LeaseRecord(row.holder, row.token, row.expires_at),
                me,
                my_token,
                now,
                timedelta(seconds=duration_s),
            )
            new = outcome.write
            if new is not None:
                conn.execute(
                    update(lease)
                    .where(lease.group_name == self.group)
                    .values(
                        holder=new.holder,
                        token=new.token,
                        expires_at=new.expires_at,
                        renewed_at=now,
                    )
                )
                self.queries += 1
        return outcome

    def release(self, me: str, token: int) -> bool:
        """Hand the lease back at a clean stop, so a standby need not wait for the expiry."""
        lease = GatewayLeaseRow
        with self._engine.begin() as conn:
            done = conn.execute(
                update(lease)
                .where(
                    lease.group_name == self.group,
                    lease.holder == me,
                    lease.token == token,
                )
                .values(expires_at=func.now())
            )
        self.queries += 1
        return bool(done.rowcount)
