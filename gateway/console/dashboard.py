"""The payout day at a glance: per region and programme, and the terminals' API over the hour.

One function builds it for both the page and the `/metrics` gauges
(`gateway.console.metrics`), so the two always show the same numbers.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gateway.console import repository
from gateway.console.window import HourFigures, RequestWindow
from gateway.payouts import ledger
from gateway.payouts.programmes import payment_day
from gateway.payouts.reconciliation import bank_day_window

PAID = frozenset({"committed"})
PENDING = frozenset({"reserved", "submitted", "needs_review"})


@dataclass
class DayRow:
    """Households of one region and programme: due, paid, pending, refused by reason."""

    region: str
    programme: str
    due: int = 0
    paid: int = 0
    pending: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


class RegisterCounts:
    """Households due per (region, programme), re-counted at most every `ttl_s` seconds.

    Counting a national register (a scan of every household and membership) costs far more
    than the rest of the page, and the register changes by imports, not during a payout day's
    minutes; the payout figures beside it are read fresh every time."""

    def __init__(self, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.clock = clock
        self._counts: dict[tuple[str, str], int] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> dict[tuple[str, str], int]:
        with self._lock:
            now = self.clock()
            if self._read_at is None or now - self._read_at >= self.ttl_s:
                self._counts = {
                    (region, programme): households
                    for region, programme, households in repository.households_due(session)
                }
                self._read_at = now
            return self._counts


@dataclass(frozen=True)
class Dashboard:
    day: dt.date
    rows: list[DayRow]
    budget_left: dict[str, int]
    hour: HourFigures


def snapshot(
    *, session: Session, window: RequestWindow, register: RegisterCounts, now: dt.datetime
) -> Dashboard:
    day = payment_day(now)
    start, end = bank_day_window(day)
    rows: dict[tuple[str, str], DayRow] = {}

    def row(region: str, programme: str) -> DayRow:
        key = (region, programme)
        if key not in rows:
            rows[key] = DayRow(region, programme)
        return rows[key]

    for (region, programme), households in register.get(session).items():
        row(region, programme).due = households
    refused: defaultdict[tuple[str, str], defaultdict[str, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for region, programme, state, failure, households in repository.payouts_between(
        session, start=start, end=end
    ):
        target = row(region, programme)
        if state in PAID:
            target.paid += households
        elif state in PENDING:
            target.pending += households
        else:
            refused[(region, programme)][failure or state] += households
    for key, reasons in refused.items():
        rows[key].refused = dict(sorted(reasons.items()))
    prefix = ledger.budget_account("")
    budgets = {
        account.code.removeprefix(prefix): account.credits_posted
        - account.debits_posted
        - account.debits_pending
        for account in repository.accounts_with_prefix(session, prefix)
    }
    return Dashboard(
        day=day,
        rows=sorted(rows.values(), key=lambda r: (r.region, r.programme)),
        budget_left=budgets,
        hour=window.last_hour(),
    )
