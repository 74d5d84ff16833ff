"""The pipeline's inbox: FIFO, bounded (the producer waits, nothing is dropped), batches."""

from __future__ import annotations

import threading

import pytest

from gateway.inbox import Inbox
from tests.support.net import wait_for


def test_fifo_and_batches() -> None:
    box: Inbox[int] = Inbox(100)
    for i in range(10):
        box.put(i)
    assert box.take(4, 0) == [0, 1, 2, 3]
    assert box.take_batch(100, 0.1, 0.0) == [4, 5, 6, 7, 8, 9]
    assert box.take(5, 0.01) == []
    with pytest.raises(ValueError, match="maxsize"):
        Inbox(0)


def test_full_inbox_blocks_the_producer_until_the_consumer_takes() -> None:
    box: Inbox[int] = Inbox(3)
    done = threading.Event()

    def produce() -> None:
        for i in range(10):
            box.put(i)
        done.set()

    threading.Thread(target=produce, daemon=True).start()
    wait_for(lambda: len(box) == 3, what="inbox full")
    assert not done.wait(0.2), "a full inbox must hold the producer back"
    got: list[int] = []
    while len(got) < 10:
        got += box.take(2, 1.0)
        assert len(box) <= 3
    assert got == list(range(10))
    assert done.wait(2)


def test_consumer_wakes_when_an_item_arrives() -> None:
    box: Inbox[str] = Inbox(10)
    threading.Timer(0.05, box.put, args=("x",)).start()
    assert box.take_batch(10, 5.0, 0.0) == ["x"]
