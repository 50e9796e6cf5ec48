"""Payout gauges read from the database at each scrape, so every process reports the truth.

Payouts in review and the money they hold (by bank and reason), payouts the bank paid after
the gateway had voided them (critical: the household may be paid twice), and programmes that
may not reserve. Alert rules on them ship in `deploy/alerts/payouts.yml`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.db import read_snapshot
from gateway.payouts import repository
from gateway.payouts.runtime import PayoutRuntime

log = logging.getLogger("gateway.payouts.metrics")

# The failure code reconciliation gives a payout the bank paid after the gateway voided it.
PAID_AFTER_VOID = "paid_after_void"


class PayoutCollector(Collector):
    def __init__(self, runtime: PayoutRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        count = GaugeMetricFamily(
            "satupintu_payouts_in_review",
            "Payouts waiting for a person's decision, by bank and reason",
            labels=["bank", "reason"],
        )
        money = GaugeMetricFamily(
            "satupintu_payouts_in_review_rupiah",
            "Money held by payouts in review, by bank and reason",
            labels=["bank", "reason"],
        )
        critical = GaugeMetricFamily(
            "satupintu_payouts_paid_after_void",
            "Payouts the bank's statement shows paid after the gateway voided them",
            labels=["bank"],
        )
        suspended = GaugeMetricFamily(
            "satupintu_programme_suspended",
            "1 for a programme that may not reserve (its budget is below its spending)",
            labels=["programme"],
        )
        try:
            with read_snapshot(self.runtime.session_factory) as session:
                totals = repository.review_totals(session)
                after_void = repository.count_by_failure(session, PAID_AFTER_VOID)
        except Exception:
            log.exception("payout metrics could not be read")
            return
        for bank, reason, n, amount in totals:
            count.add_metric([bank, reason or "unknown"], n)
            money.add_metric([bank, reason or "unknown"], int(amount or 0))
        for bank, n in after_void:
            critical.add_metric([bank], n)
        for programme in self.runtime.catalogue.programmes:
            suspended.add_metric([programme.code], int(programme.code in self.runtime.suspended))
        yield from (count, money, critical, suspended)


def install_metrics(registry: CollectorRegistry, runtime: PayoutRuntime) -> None:
    """Register the gauges until the runtime stops (an app may start more than once)."""
    collector = PayoutCollector(runtime)
    registry.register(collector)
    runtime.on_stop.append(lambda: registry.unregister(collector))
