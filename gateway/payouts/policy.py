"""Timing of a payout's two phases and the lease that fences its workers.

A lease shorter than a bank call could let two workers send the same payout at once, so
it is checked against every adapter's longest call at start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.base import (
    BankAdapter,
)

Clock = Callable[[], datetime]


class LeaseTooShort(ValueError):
    """The payout lease would end before a bank call can: two workers could send at once."""


@dataclass(frozen=True)
class PayoutPolicy:
    """Timing of the two phases; defaults suit an agent waiting at the counter."""

    # A reservation the bank has not taken within this window is voided once that is
    # provably safe (the transfer also expires at the bank then, where the rail allows).
    hold: timedelta = timedelta(minutes=10)
    # The request path owns a payout this long before the recovery worker may take it over.
    lease: timedelta = timedelta(seconds=30)
    # How soon an unanswered or pending transfer is asked about first; doubled each time.
    retry_after: timedelta = timedelta(seconds=5)
    # The longest wait between two status queries of one payout.
    max_backoff: timedelta = timedelta(minutes=10)
    # Banks settle late and status services fail for a while: a payout is asked about for
    # this long after its reservation before a person is asked to decide.
    query_deadline: timedelta = timedelta(hours=6)

    def backoff(self, attempts: int) -> timedelta:
        return min(self.max_backoff, self.retry_after * 2 ** min(attempts, 20))


# Headroom over an adapter's longest call: scheduling, the database, clock drift.
CALL_MARGIN = timedelta(seconds=2)


def send_window(adapter: BankAdapter) -> timedelta:
    """How long a send may still reach the bank after it began, margin included."""
    return timedelta(seconds=adapter.longest_call_s) * 1.1 + CALL_MARGIN


def check_lease(lease: timedelta, adapters: Mapping[str, BankAdapter]) -> None:
    """Refuse a lease that a bank call could outlast: the worker would still be sending when
    another took the payout over."""
    for code, adapter in sorted(adapters.items()):
        needed = send_window(adapter)
        if lease < needed:
            raise LeaseTooShort(
                f"payout lease {lease.total_seconds():g} s is shorter than the longest call of "
                f"bank {code} ({adapter.longest_call_s:g} s, plus margin: "
                f"{needed.total_seconds():g} s); raise SATUPINTU_PAYOUT_LEASE_SECONDS or "
                "lower the adapter's attempts or timeout"
            )
