"""Concurrent probes grouped into one call per shard replica, so the call rate stays bounded.

Every identify asks every shard twice (nearest codes, then re-scoring). Sent one by one, a
shard's call rate would be twice the identify rate, and under load the actor's queue of small
calls, each paying Ray's per-call cost, would grow with it. Here a replica has at most
`in_flight` calls outstanding per method; requests that arrive meanwhile wait, and leave
together as one call (at most `max_batch` requests) as soon as one returns. An idle gateway
sends every request at once (no added wait); a busy one sends bigger calls, not more of them:
a replica's call rate is at most `in_flight` divided by its call time, whatever the identify
rate.

A call that has not answered within `expire_s` stops counting against the limit, so a
replica that hangs (being restarted) does not hold back calls to it once its callers have
given up; they are answered or fail when Ray says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Queue:
    """The requests waiting for one (replica, method), and the start of its open calls."""

    actor: Any
    method: str
    waiting: list[tuple[Any, Future[Any]]] = field(default_factory=list)
    open_calls: list[float] = field(default_factory=list)


@dataclass
class CallStats:
    """How many requests were made and how many actor calls carried them."""

    requests: int = 0
    calls: int = 0
    largest_batch: int = 0


class BatchedCalls:
    """Batched calls to actors' `<method>_batch(requests) -> answers` methods."""

    def __init__(self, *, in_flight: int, max_batch: int, expire_s: float) -> None:
        if in_flight < 1 or max_batch < 1:
            raise ValueError("at least one call in flight and one request a call")
        self.in_flight = in_flight
        self.max_batch = max_batch
        self.expire_s = expire_s
        self.stats = CallStats()
        self._queues: dict[Hashable, _Queue] = {}
        self._cond = threading.Condition()
        self._dispatcher: threading.Thread | None = None

    def submit(self, key: Hashable, actor: Any, method: str, request: Any) -> Future[Any]:
        """Queue one request for `actor.<method>_batch`; its answer arrives on the future.
        `key` names the (replica, method) whose calls are limited together."""
        future: Future[Any] = Future()
        with self._cond:
            queue = self._queues.get(key)
            if queue is None or queue.actor is not actor:
                queue = self._queues[key] = _Queue(actor, method)
            queue.waiting.append((request, future))
            self.stats.requests += 1
            batch = self._take(queue, time.monotonic())
            if batch is None:
                self._ensure_dispatcher()
                self._cond.notify_all()
        if batch is not None:
            self._send(queue, batch)
        return future

    def _take(self, queue: _Queue, now: float) -> list[tuple[Any, Future[Any]]] | None:
        """The next batch of a queue if it may be sent now (the lock is held)."""
        queue.open_calls = [t for t in queue.open_calls if now - t < self.expire_s]
        if not queue.waiting or len(queue.open_calls) >= self.in_flight:
            return None
        batch, queue.waiting = queue.waiting[: self.max_batch], queue.waiting[self.max_batch :]
        queue.open_calls.append(now)
        self.stats.calls += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        return batch

    def _send(self, queue: _Queue, batch: list[tuple[Any, Future[Any]]]) -> None:
        started = queue.open_calls[-1]
        try:
            ref = getattr(queue.actor, f"{queue.method}_batch").remote([r for r, _ in batch])
        except Exception as exc:  # an actor handle that cannot take calls any more
            self._finish(queue, started, batch, None, exc)
            return
        ref.future().add_done_callback(lambda done: self._finish(queue, started, batch, done, None))

    def _finish(
        self,
        queue: _Queue,
        started: float,
        batch: list[tuple[Any, Future[Any]]],
        done: Future[Any] | None,
        error: BaseException | None,
    ) -> None:
        """Runs on Ray's callback thread: hand out the answers, free the slot, and leave
        sending the next batch to the dispatcher (no Ray calls from this thread)."""
        with self._cond:
            if started in queue.open_calls:
                queue.open_calls.remove(started)
            self._cond.notify_all()
        if done is not None:
            error = done.exception()
        if error is not None:
            for _, future in batch:
                future.set_exception(error)
            return
        assert done is not None
        answers = done.result()
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)

    def _ensure_dispatcher(self) -> None:
        if self._dispatcher is None or not self._dispatcher.is_alive():
            self._dispatcher = threading.Thread(
                target=self._dispatch, name="shard-call-batcher", daemon=True
            )
            self._dispatcher.start()

    def _dispatch(self) -> None:
        """Send waiting batches as slots free up (woken by completions and new requests;
        a periodic wake lets expired calls release their slots)."""
        while True:
            ready: list[tuple[_Queue, list[tuple[Any, Future[Any]]]]] = []
            with self._cond:
                while not ready:
                    now = time.monotonic()
                    for queue in self._queues.values():
                        batch = self._take(queue, now)
                        if batch is not None:
                            ready.append((queue, batch))
                    if not ready:
                        self._cond.wait(timeout=min(1.0, self.expire_s))
            for queue, batch in ready:
                self._send(queue, batch)
