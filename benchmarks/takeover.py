"""Takeover time of a gateway pair, and what the lease costs.

Method: a real PostgreSQL (Debian's, a throw-away cluster) and a real Mosquitto; two
``kommunvakt run`` processes on them with one MQTT client id and the lease settings given.
Each round: find the active one (``/healthz`` role), wait a random part of the renew interval,
``kill -9`` it, and poll the other's
``/healthz`` every 50 ms until it says ``active`` (lease taken *and* the shared MQTT session
connected and subscribed): that is the takeover time. The killed one is started again (a
standby) before the next round. Reported: p50 and max over the rounds, against the bound
(lease duration + renew interval).

The lease's cost, measured apart from the platform's other queries: ``claims`` claims against
the same database from this process (one ``SqlLease``), wall and CPU time per claim and
statements per claim; an instance claims once per renew interval whether active or standby.
For scale, the database's committed transactions per second with the two instances idle.

``python -m benchmarks.takeover [--kills 5] [--duration 10] [--renew 3]`` (needs the test
extras: it borrows the test suite's PostgreSQL harness).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks._support import GatewayProcess, Mosquitto, load, machine
from core.db import make_engine
from devices.migrate import prepare_database
from gateway.lease_sql import SqlLease, lease_engine


def _role(proc: GatewayProcess) -> str | None:
    try:
        return str(httpx.get(f"http://127.0.0.1:{proc.api_port}/healthz", timeout=1).json()["role"])
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def _wait_role(proc: GatewayProcess, want: str, timeout: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if _role(proc) == want:
            return time.monotonic() - began
        time.sleep(0.05)  # polling an outside process's state
    raise TimeoutError(f"no {want} role after {timeout:.0f} s: {proc.log_tail()}")


def _lease_cost(db_url: str, claims: int, renew_s: float) -> dict[str, float]:
    engine = lease_engine(db_url, 2.0)
    lease = SqlLease(engine, "bench-cost")
    lease.ensure_row()
    token = None
    wall0, cpu0, q0 = time.perf_counter(), time.process_time(), lease.queries
    for _ in range(claims):
        token = lease.claim("bench", token, 10.0).token
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    per_claim = (lease.queries - q0) / claims
    engine.dispose()
    return {
        "wall_ms": 1000 * wall / claims,
        "cpu_ms": 1000 * cpu / claims,
        "statements_per_claim": per_claim,
        "statements_per_s_per_instance": per_claim / renew_s,
    }


def _commits_per_s(db_url: str, seconds: float) -> float:
    engine = create_engine(db_url)
    query = text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    with engine.connect() as conn:
        first = int(conn.execute(query).scalar_one())
    time.sleep(seconds)  # the measuring window
    with engine.connect() as conn:
        last = int(conn.execute(query).scalar_one())
    engine.dispose()
    return (last - first - 1) / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--renew", type=float, default=3.0)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="3 kills")
    args = parser.parse_args(argv)
    kills = 3 if args.quick else args.kills
    from tests.support.postgres import PostgresCluster

    print(f"takeover: {machine()}; {load()}", flush=True)
    cluster = PostgresCluster().start()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = Mosquitto(root / "mosquitto").start()
        db_url = cluster.create_database()
        engine = make_engine(db_url)
        prepare_database(engine)  # once, before two processes race to create the schema
        engine.dispose()
        client_id = f"kv-bench-{uuid.uuid4().hex[:6]}"
        env = {
            "KOMMUNVAKT_DATABASE_URL": db_url,
            "KOMMUNVAKT_LEASE_DURATION_S": str(args.duration),
            "KOMMUNVAKT_LEASE_RENEW_S": str(args.renew),
        }
        procs = []
        for name in ("a", "b"):
            (root / name).mkdir()
            procs.append(GatewayProcess(root / name, broker.url, client_id, **env).start())
        try:
            _wait_role(procs[0], "active", 20)
            idle = _commits_per_s(db_url, 15.0)
            times = []
            seed = 16
            rng = random.Random(seed)
            print(f"  kills at a random phase of the renew cycle (seed {seed})")
            for round_ in range(kills):
                active = next(p for p in procs if _role(p) == "active")
                other = next(p for p in procs if p is not active)
                assert active.proc is not None
                # at a random point of the renew cycle, as a real failure would land
                time.sleep(rng.uniform(0, args.renew))
                active.proc.kill()
                active.proc.wait(10)
                took = _wait_role(other, "active", args.duration + args.renew + 30)
                times.append(took)
                print(f"  kill {round_ + 1}: takeover {took:.2f} s", flush=True)
                fresh = GatewayProcess(active.data_dir, broker.url, client_id, **env).start()
                procs[procs.index(active)] = fresh
                _wait_role(fresh, "standby", 20)
            cost = _lease_cost(db_url, args.claims, args.renew)
        finally:
            for proc in procs:
                proc.stop()
            broker.stop()
            cluster.stop()
    bound = args.duration + args.renew
    print(
        f"takeover over {kills} kills (lease {args.duration:g} s, renew {args.renew:g} s, "
        f"bound {bound:g} s): p50 {statistics.median(times):.2f} s, max {max(times):.2f} s, "
        f"min {min(times):.2f} s"
    )
    print(
        f"lease cost: {cost['wall_ms']:.2f} ms wall and {cost['cpu_ms']:.2f} ms CPU per claim "
        f"(this process), {cost['statements_per_claim']:.0f} statements per claim = "
        f"{cost['statements_per_s_per_instance']:.2f} statements/s per instance; the database "
        f"committed {idle:.1f} transactions/s with the two instances idle (all sources); {load()}"
    )


if __name__ == "__main__":
    main()
