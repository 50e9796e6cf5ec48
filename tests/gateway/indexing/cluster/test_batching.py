"""Requests that arrive while a replica's calls are outstanding leave together, one call.

A fake actor stands in for Ray: each call returns a handle whose future the test completes,
so when calls are sent and what they carry is observed exactly.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

import pytest

from gateway.indexing.cluster.batching import BatchedCalls


class _Method:
    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], Future[Any]]] = []

    def remote(self, requests: list[Any]) -> Any:
        future: Future[Any] = Future()
        self.calls.append((requests, future))
        return type("Ref", (), {"future": lambda _self: future})()


class _Actor:
    def __init__(self) -> None:
        self.echo_batch = _Method()


def _wait_for(predicate: Any) -> None:
    give_up = time.monotonic() + 5
    while not predicate():
        assert time.monotonic() < give_up, "the dispatcher did not send the waiting requests"
        time.sleep(0.005)


def test_requests_arriving_during_a_call_leave_together_in_batches_of_the_limit() -> None:
    actor = _Actor()
    calls = BatchedCalls(in_flight=1, max_batch=3, expire_s=60)
    first = calls.submit("r", actor, "echo", 1)
    assert [r for r, _ in actor.echo_batch.calls] == [[1]]  # idle: sent at once
    waiting = [calls.submit("r", actor, "echo", n) for n in (2, 3, 4, 5)]
    assert len(actor.echo_batch.calls) == 1  # one call outstanding: the rest wait

    actor.echo_batch.calls[0][1].set_result(["one"])
    assert first.result(timeout=5) == "one"
    _wait_for(lambda: len(actor.echo_batch.calls) == 2)
    assert actor.echo_batch.calls[1][0] == [2, 3, 4]
    actor.echo_batch.calls[1][1].set_result(["two", "three", "four"])
    _wait_for(lambda: len(actor.echo_batch.calls) == 3)
    assert actor.echo_batch.calls[2][0] == [5]
    actor.echo_batch.calls[2][1].set_result(["five"])
    assert [f.result(timeout=5) for f in waiting] == ["two", "three", "four", "five"]
    assert (calls.stats.requests, calls.stats.calls, calls.stats.largest_batch) == (5, 3, 3)


def test_a_failed_call_fails_each_of_its_requests_and_frees_its_slot() -> None:
    actor = _Actor()
    calls = BatchedCalls(in_flight=1, max_batch=8, expire_s=60)
    calls.submit("r", actor, "echo", 1)
    a, b = calls.submit("r", actor, "echo", 2), calls.submit("r", actor, "echo", 3)
    actor.echo_batch.calls[0][1].set_exception(ConnectionError("gone"))
    _wait_for(lambda: len(actor.echo_batch.calls) == 2)
    actor.echo_batch.calls[1][1].set_exception(ConnectionError("still gone"))
    for future in (a, b):
        with pytest.raises(ConnectionError, match="still gone"):
            future.result(timeout=5)


def test_a_call_that_never_answers_stops_holding_back_the_next() -> None:
    actor = _Actor()
    calls = BatchedCalls(in_flight=1, max_batch=8, expire_s=0.2)
    calls.submit("r", actor, "echo", 1)  # never answered
    later = calls.submit("r", actor, "echo", 2)
    _wait_for(lambda: len(actor.echo_batch.calls) == 2)
    actor.echo_batch.calls[1][1].set_result(["two"])
    assert later.result(timeout=5) == "two"


def test_replicas_are_limited_separately() -> None:
    a, b = _Actor(), _Actor()
    calls = BatchedCalls(in_flight=1, max_batch=8, expire_s=60)
    calls.submit(("s", 0), a, "echo", 1)
    calls.submit(("s", 1), b, "echo", 2)
    assert len(a.echo_batch.calls) == len(b.echo_batch.calls) == 1
