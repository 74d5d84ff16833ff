"""A bounded FIFO between paho's network thread (one producer) and the pipeline (one consumer).

``queue.Queue`` takes a lock and a condition for every item: about 5 µs per message for a put
and a get on this machine, a tenth of the gateway's whole budget per message. Here a put is a
``deque.append`` and the consumer takes a whole batch at once; the condition is touched only
when one side actually waits (the queue empty, or full: backpressure on the broker).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Inbox"]

T = TypeVar("T")


class Inbox(Generic[T]):
    def __init__(self, maxsize: int) -> None:
        if maxsize <= 0:
            raise ValueError("maxsize must be positive")
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._consumer_waiting = False
        self._producer_waiting = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        """Append; blocks while the inbox is full (one producer only)."""
        items = self._items
        if len(items) >= self.maxsize:
            with self._cond:
                self._producer_waiting = True
                # The consumer checks the flag after it takes: it cannot miss us for long,
                # and the timeout bounds any case we did not think of.
                while len(items) >= self.maxsize:
                    self._cond.wait(0.5)
                self._producer_waiting = False
        items.append(item)
        if self._consumer_waiting:
            with self._cond:
                self._cond.notify_all()

    def take(self, limit: int, timeout: float) -> list[T]:
        """Up to ``limit`` items, waiting at most ``timeout`` for the first (one consumer)."""
        items = self._items
        if not items and timeout > 0:
            with self._cond:
                self._consumer_waiting = True
                if not items:  # a put after this check sees the flag and notifies
                    self._cond.wait(timeout)
                self._consumer_waiting = False
        n = min(limit, len(items))
        out = [items.popleft() for _ in range(n)]
        if self._producer_waiting:
            with self._cond:
                self._cond.notify_all()
        return out

    def take_batch(self, limit: int, first_timeout: float, fill_wait: float) -> list[T]:
        """A batch: wait up to ``first_timeout`` for anything, then up to ``fill_wait`` more
        for the batch to fill (fewer, larger transactions under load)."""
        batch = self.take(limit, first_timeout)
        if not batch:
            return batch
        deadline = time.monotonic() + fill_wait
        while len(batch) < limit:
            remaining = deadline - time.monotonic()
            more = self.take(limit - len(batch), remaining if remaining > 0 else 0.0)
            if not more:
                break
            batch.extend(more)
        return batch
