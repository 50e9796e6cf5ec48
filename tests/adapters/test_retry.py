"""The bank clients' one retry policy: jittered doubling backoff, attempts, deadline, metrics."""

from __future__ import annotations

import pytest

from adapters.retry import GIVE_UPS, RETRIES, GaveUp, Retryable, RetryPolicy


def _failing(times: int, answer: str = "ok") -> tuple[list[int], object]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Retryable(f"HTTP 503 #{len(calls)}")
        return answer

    return calls, attempt


def test_waits_double_with_jitter_and_the_answer_comes_back() -> None:
    waits: list[float] = []
    calls, attempt = _failing(3)
    policy = RetryPolicy(attempts=4, backoff_s=0.1, jitter_s=0.05)
    assert policy.run(attempt, bank="TEST1", sleep=waits.append) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 4
    for wait, base in zip(waits, (0.1, 0.2, 0.4), strict=True):
        assert base <= wait <= base + 0.05
    spread = set()
    for _ in range(20):
        drawn: list[float] = []
        RetryPolicy(attempts=2).run(_failing(1)[1], bank="TEST1", sleep=drawn.append)  # type: ignore[arg-type]
        spread.add(drawn[0])
    assert len(spread) > 1  # jittered, not a fixed schedule


def test_attempts_run_out_into_gave_up_with_the_last_failure() -> None:
    calls, attempt = _failing(10)
    with pytest.raises(GaveUp) as caught:
        RetryPolicy(attempts=3).run(attempt, bank="TEST2", sleep=lambda _: None)  # type: ignore[arg-type]
    assert len(calls) == 3
    assert caught.value.attempts == 3 and caught.value.failure == "HTTP 503 #3"


def test_the_deadline_stops_retrying_before_the_attempts_run_out() -> None:
    calls, attempt = _failing(10)
    policy = RetryPolicy(attempts=10, backoff_s=1.0, jitter_s=0.0, deadline_s=2.5)
    with pytest.raises(GaveUp) as caught:
        policy.run(attempt, bank="TEST3", sleep=lambda _: None)  # type: ignore[arg-type]
    # Waits of 1 s then 2 s: the second would end past 2.5 s, so only two attempts run.
    assert len(calls) == 2 and caught.value.attempts == 2


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        raise ValueError("a refusal is an answer")

    with pytest.raises(ValueError):
        RetryPolicy().run(attempt, bank="TEST4", sleep=lambda _: None)
    assert calls == [1]


def test_retries_and_give_ups_are_counted_per_bank() -> None:
    retries, give_ups = RETRIES.labels("TEST5")._value.get(), GIVE_UPS.labels("TEST5")._value.get()
    with pytest.raises(GaveUp):
        RetryPolicy(attempts=3).run(_failing(5)[1], bank="TEST5", sleep=lambda _: None)  # type: ignore[arg-type]
    assert RETRIES.labels("TEST5")._value.get() == retries + 2
    assert GIVE_UPS.labels("TEST5")._value.get() == give_ups + 1


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts=0)
