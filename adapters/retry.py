"""The one retry policy of every bank client: exponential backoff with jitter, a cap on
attempts and a deadline, counted in metrics (tenacity does the bookkeeping).

tenacity rather than stamina because its sleep is injectable: the adapters' tests run banks on
a manual clock and never really wait, and stamina only offers a global switch to skip waits.
Jitter spreads the retries of many gateway processes after one bank hiccup, so they do not
arrive at the bank together; the deadline bounds how long a payout waits for one bank before
its outcome is declared unknown and left to reconciliation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity
from prometheus_client import CollectorRegistry, Counter

T = TypeVar("T")

# Adapters are plugins without an app of their own; the gateway renders this registry with
# its own at /metrics.
REGISTRY = CollectorRegistry()
RETRIES = Counter(
    "satupintu_bank_retries_total",
    "Bank calls repeated after a transport error, a 5xx answer or an expired token",
    ["bank"],
    registry=REGISTRY,
)
GIVE_UPS = Counter(
    "satupintu_bank_gave_up_total",
    "Bank calls abandoned after their last attempt or their deadline (outcome unknown)",
    ["bank"],
    registry=REGISTRY,
)


class Retryable(Exception):
    """One attempt failed in a way that repeating it may cure; the message says how."""


class GaveUp(Exception):
    """Every allowed attempt failed, or the deadline left no time for another."""

    def __init__(self, failure: str, attempts: int) -> None:
        super().__init__(failure)
        self.failure = failure
        self.attempts = attempts


class _PastDeadline(tenacity.stop.stop_base):
    """Stop when the next wait would end past the deadline. Time spent waiting is counted as
    the injected sleep saw it, so a manual clock in tests meets the same deadline."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        spent = max(retry_state.seconds_since_start or 0.0, retry_state.idle_for)
        return spent + retry_state.upcoming_sleep >= self.deadline_s


@dataclass(frozen=True)
class RetryPolicy:
    """How a bank call is repeated; the defaults suit a bank answering within a second."""

    attempts: int = 3
    # The first wait; each later one doubles, plus up to `jitter_s` drawn at random.
    backoff_s: float = 0.2
    jitter_s: float = 0.2
    max_backoff_s: float = 5.0
    # No retry starts if its wait would end later than this after the first attempt began.
    deadline_s: float = 15.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def run(self, attempt: Callable[[], T], *, bank: str, sleep: Callable[[float], None]) -> T:
        """The first answer `attempt` returns; GaveUp when retries or time run out."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | _PastDeadline(self.deadline_s),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.backoff_s, max=self.max_backoff_s, jitter=self.jitter_s
            ),
            retry=tenacity.retry_if_exception_type(Retryable),
            sleep=sleep,
            before_sleep=lambda _: RETRIES.labels(bank).inc(),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Retryable as exc:
            GIVE_UPS.labels(bank).inc()
            raise GaveUp(str(exc), retrying.statistics.get("attempt_number", 1)) from exc
