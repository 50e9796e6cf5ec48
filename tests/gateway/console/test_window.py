"""The last hour of the API read off the process's own counters and histogram."""

from __future__ import annotations

import math

import pytest

from gateway.console.window import HOUR_S, RequestWindow, quantile
from gateway.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _requests(metrics: Metrics, route: str, seconds: float, n: int, status: str = "200") -> None:
    for _ in range(n):
        metrics.requests.labels(route, "POST", status).inc()
        metrics.latency.labels(route, "POST").observe(seconds)


def test_quantile_interpolates_within_its_bucket_as_prometheus_does() -> None:
    buckets = {0.1: 50.0, 0.2: 100.0, math.inf: 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.95, buckets) == pytest.approx(0.19)
    assert quantile(0.95, {0.1: 0.0, math.inf: 0.0}) is None


def test_the_window_forgets_what_is_older_than_an_hour() -> None:
    metrics, clock = Metrics(), Clock()
    window = RequestWindow(metrics, clock=clock)
    _requests(metrics, "/v1/verify", 0.02, 120)
    _requests(metrics, "/v1/payouts", 0.3, 10, status="503")
    first = window.last_hour()
    assert first.per_minute["verify"] == pytest.approx(2.0)
    assert 0.01 < (first.p95_seconds["verify"] or 0) <= 0.025
    assert first.error_ratio == pytest.approx(10 / 130)
    clock.now = HOUR_S + 120
    _requests(metrics, "/v1/verify", 0.2, 60)
    later = window.last_hour()
    assert later.per_minute["verify"] == pytest.approx(1.0)  # only the last 60 count
    assert 0.1 < (later.p95_seconds["verify"] or 0) <= 0.25
    assert later.per_minute["pay"] == 0.0 and later.p95_seconds["pay"] is None
    assert later.error_ratio == 0.0
