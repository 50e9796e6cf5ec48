"""The dashboard's numbers as Prometheus gauges, computed by the very function the page uses.

`satupintu_payout_day_households{region,programme,status}` (due, paid, pending),
`satupintu_payout_day_refused_households{region,programme,reason}`,
`satupintu_programme_budget_left_rupiah{programme}`, and the terminals' API over the last
hour: `satupintu_api_last_hour_requests_per_minute{operation}`,
`satupintu_api_last_hour_p95_seconds{operation}`, `satupintu_api_last_hour_error_ratio`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.console import dashboard
from gateway.db import read_snapshot, utcnow

log = logging.getLogger("gateway.console.metrics")


class DashboardCollector(Collector):
    def __init__(self, state: Any) -> None:
        self.state = state  # the app's state: session factory and window exist once started

    def collect(self) -> Iterator[GaugeMetricFamily]:
        factory = getattr(self.state, "session_factory", None)
        window = getattr(self.state, "console_window", None)
        register = getattr(self.state, "console_register", None)
        if factory is None or window is None or register is None:
            return
        try:
            with read_snapshot(factory) as session:
                board = dashboard.snapshot(
                    session=session, window=window, register=register, now=utcnow()
                )
        except Exception:
            log.exception("dashboard metrics could not be read")
            return
        households = GaugeMetricFamily(
            "satupintu_payout_day_households",
            "Households of today's payout day by region, programme and status",
            labels=["region", "programme", "status"],
        )
        refused = GaugeMetricFamily(
            "satupintu_payout_day_refused_households",
            "Households refused today by region, programme and reason",
            labels=["region", "programme", "reason"],
        )
        budget = GaugeMetricFamily(
            "satupintu_programme_budget_left_rupiah",
            "Budget a programme may still reserve",
            labels=["programme"],
        )
        rate = GaugeMetricFamily(
            "satupintu_api_last_hour_requests_per_minute",
            "Mean requests per minute over the last hour, by operation",
            labels=["operation"],
        )
        p95 = GaugeMetricFamily(
            "satupintu_api_last_hour_p95_seconds",
            "95th percentile latency over the last hour, by operation",
            labels=["operation"],
        )
        errors = GaugeMetricFamily(
            "satupintu_api_last_hour_error_ratio",
            "Share of the terminals' API requests answered 5xx in the last hour",
        )
        for row in board.rows:
            for status, value in (("due", row.due), ("paid", row.paid), ("pending", row.pending)):
                households.add_metric([row.region, row.programme, status], value)
            for reason, value in row.refused.items():
                refused.add_metric([row.region, row.programme, reason], value)
        for programme, left in board.budget_left.items():
            budget.add_metric([programme], left)
        for operation, per_minute in board.hour.per_minute.items():
            rate.add_metric([operation], per_minute)
            seconds = board.hour.p95_seconds[operation]
            if seconds is not None:
                p95.add_metric([operation], seconds)
        errors.add_metric([], board.hour.error_ratio)
        yield from (households, refused, budget, rate, p95, errors)
