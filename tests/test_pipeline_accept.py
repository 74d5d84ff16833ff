"""The steps after decoding, in the real pipeline and stores (in process, no broker).

A batch's readings of unknown devices go to quarantine in one transaction, after the store
write: a batch retried after a store error is not quarantined twice. A failure after the
store (the dead-letter store) is retried from where it failed: the rules and the listeners
see a batch once. Claiming ingests through the same ``accept``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from core.db import make_sessionmaker
from devices.quarantine import QuarantineEntry, QuarantineStore
from gateway.pipeline import Inbound, Pipeline
from ingest.deadletters import DeadLetterStore, Letter
from ingest.errors import StoreError
from tests.support.postgres import pg_cluster  # noqa: F401  (session-wide PostgreSQL)
from tests.support.registry_api import make_api
from tests.test_decode_pipeline import FailingOnceStore

SHED = {"id": "bod-1", "type": "technical_shed_temperature", "name": "Bod 1"}


def native(temperature: float) -> bytes:
    return json.dumps({"values": {"temperature": temperature}}).encode()


def pipeline_of(platform: Any, **parts: Any) -> tuple[Pipeline, list[int]]:
    kept = {
        "store": platform.store,
        "quarantine": platform.quarantine,
        "dead_letters": platform.dead_letters,
    }
    kept.update(parts)
    pipeline = Pipeline(
        platform.router,
        platform.registry,
        kept["store"],
        platform.engine,
        kept["quarantine"],
        kept["dead_letters"],
    )
    acked: list[int] = []
    pipeline.set_ack(lambda mid, _qos: acked.append(mid))
    return pipeline, acked


def test_a_store_retry_does_not_quarantine_the_batch_twice(platform: Any) -> None:
    pipeline, acked = pipeline_of(platform, store=FailingOnceStore(platform.store))
    now = datetime.now(UTC)
    batch = [Inbound("kv/okand-1/up", native(4.0), 1, 1, now)]
    with pytest.raises(StoreError):
        pipeline.process(batch)
    assert acked == []
    assert platform.quarantine.get_unknown("okand-1") is None  # kept only once stored
    pipeline.process(batch)  # the retry the worker does
    assert acked == [1]
    unknown = platform.quarantine.get_unknown("okand-1")
    assert unknown is not None
    assert unknown.messages == 1
    assert len(platform.quarantine.take("okand-1", now - timedelta(hours=1))) == 1
    assert pipeline.stats.quarantined == 1


def test_a_batch_of_unknown_devices_is_quarantined_in_one_transaction(platform: Any) -> None:
    sessions = make_sessionmaker(platform.db)  # the quarantine's own, to count its commits
    commits: list[object] = []
    event.listen(sessions, "after_commit", commits.append)
    pipeline, acked = pipeline_of(platform, quarantine=QuarantineStore(sessions))
    now = datetime.now(UTC)
    pipeline.process([Inbound(f"kv/okand-{i % 7}/up", native(i), i, 1, now) for i in range(50)])
    assert acked == list(range(50))
    assert len(commits) == 1
    counts = {u.ref: u.messages for u in platform.quarantine.list_unknown()}
    assert counts == {f"okand-{i}": len(range(i, 50, 7)) for i in range(7)}


class RefusingQuarantine(QuarantineStore):
    """Our quarantine seam: refuses any transaction that holds one poisoned ref."""

    def __init__(self, inner: QuarantineStore, poisoned: str) -> None:
        self.inner, self.poisoned = inner, poisoned

    def record_many(self, entries: Sequence[QuarantineEntry]) -> None:
        if any(e.ref == self.poisoned for e in entries):
            raise ValueError("the quarantine cannot take this one")
        self.inner.record_many(entries)


def test_a_message_the_quarantine_refuses_is_a_dead_letter_alone(
    platform: Any, client: Any
) -> None:
    quarantine = RefusingQuarantine(platform.quarantine, "okand-2")
    pipeline, acked = pipeline_of(platform, quarantine=quarantine)
    now = datetime.now(UTC)
    pipeline.process([Inbound(f"kv/okand-{i}/up", native(i), i, 1, now) for i in range(4)])
    assert acked == [0, 1, 2, 3]
    assert sorted(u.ref for u in platform.quarantine.list_unknown()) == [
        "okand-0",
        "okand-1",
        "okand-3",
    ]
    (letter,) = client.get("/api/v1/dead-letters").json()
    assert letter["topic"] == "kv/okand-2/up"
    assert "internal error" in letter["reason"]
    assert pipeline.stats.bugs == 1


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def on_postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    yield from make_api(request, tmp_path)


def test_a_ref_postgresql_refuses_is_a_dead_letter_alone(on_postgres: tuple[Any, Any]) -> None:
    # PostgreSQL enforces the ref column's length (SQLite does not): the batch's one
    # transaction fails on it, and the other messages are quarantined all the same
    client, platform = on_postgres
    pipeline, acked = pipeline_of(platform)
    long_ref = "x" * 300
    now = datetime.now(UTC)
    refs = ["okand-a", long_ref, "okand-b"]
    pipeline.process(
        [Inbound(f"kv/{ref}/up", native(1.0), i, 1, now) for i, ref in enumerate(refs)]
    )
    assert acked == [0, 1, 2]
    assert sorted(u.ref for u in platform.quarantine.list_unknown()) == ["okand-a", "okand-b"]
    (letter,) = client.get("/api/v1/dead-letters").json()
    assert long_ref in letter["topic"]
    assert "internal error" in letter["reason"]


class FailingOnceDeadLetters(DeadLetterStore):
    """Our dead-letter seam: the first write fails like a locked database."""

    def __init__(self, inner: DeadLetterStore) -> None:
        self.inner, self.failures = inner, 1

    def add_many(self, letters: Sequence[Letter]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        self.inner.add_many(letters)


def test_a_failure_after_the_store_does_not_run_the_rules_again(platform: Any, client: Any) -> None:
    assert client.post("/api/v1/devices", json=SHED).status_code == 201
    dead_letters = FailingOnceDeadLetters(platform.dead_letters)
    pipeline, acked = pipeline_of(platform, dead_letters=dead_letters)
    seen: list[int] = []
    all_acked = threading.Event()
    pipeline.listeners.append(lambda pairs: seen.append(len(pairs)))
    pipeline.set_ack(lambda mid, _qos: (acked.append(mid), mid == 2 and all_acked.set()))
    pipeline.start()
    try:
        pipeline.submit("kv/bod-1/up", native(21.0), 1, 1)
        pipeline.submit("kv/bod-1/up", b"not json", 2, 1)
        assert all_acked.wait(10)
    finally:
        pipeline.stop()
    assert acked == [1, 2]
    assert seen == [1]  # the listeners (and the rules before them) saw the batch once
    assert len(client.get("/api/v1/dead-letters").json()) == 1
    assert pipeline.stats.readings_stored == 1


def test_claiming_goes_through_the_pipelines_accept(platform: Any, client: Any) -> None:
    seen: list[list[str]] = []
    platform.pipeline.listeners.append(lambda pairs: seen.append([d.id for d, _ in pairs]))
    now = datetime.now(UTC)
    platform.pipeline.process([Inbound("kv/okand-9/up", native(3.5), 1, 1, now)])
    assert seen == [[]]
    resp = client.post(
        "/api/v1/unknown-devices/okand-9/claim",
        json={"type": "technical_shed_temperature", "name": "Bod 9"},
    )
    assert resp.status_code in (200, 201), resp.text
    assert seen == [[], ["okand-9"]]
    stored = platform.store.history("okand-9", "temperature", now, now + timedelta(seconds=1))
    assert [r.value for r in stored] == [3.5]
