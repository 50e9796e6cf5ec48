"""The last hour of the terminals' API, read off the process's own Prometheus series.

Counters only ever grow, so a window is the difference between now and a reading taken an
hour ago. Readings are kept once a minute (taken when someone looks, so an idle process
keeps none); before the process is an hour old the window starts at its start. The p95 is
interpolated within the histogram's buckets as Prometheus's `histogram_quantile` does.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import Metric

from gateway.metrics import Metrics

HOUR_S = 3600.0
READING_EVERY_S = 60.0
# The terminals' API (what the ops team watches), by its route templates.
OPERATIONS = {"verify": ("/v1/verify", "POST"), "pay": ("/v1/payouts", "POST")}


@dataclass(frozen=True)
class Reading:
    """Cumulative series at one moment: per operation its latency buckets (le → count), and
    the API's request and server-error totals."""

    at: float
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)
    requests: float = 0.0
    errors: float = 0.0


@dataclass(frozen=True)
class HourFigures:
    """Per operation: mean requests per minute over the hour and p95 seconds (None: no
    request); the API's share of server errors."""

    per_minute: dict[str, float]
    p95_seconds: dict[str, float | None]
    error_ratio: float
    window_s: float


def read(families: Iterable[Metric], at: float) -> Reading:
    wanted = {v: k for k, v in OPERATIONS.items()}
    buckets: dict[str, dict[float, float]] = {name: {} for name in OPERATIONS}
    requests = errors = 0.0
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "satupintu_http_request_duration_seconds_bucket":
                op = wanted.get((labels.get("route", ""), labels.get("method", "")))
                if op is not None:
                    le = float(labels["le"])
                    buckets[op][le] = buckets[op].get(le, 0.0) + sample.value
            elif sample.name == "satupintu_http_requests_total" and labels.get(
                "route", ""
            ).startswith("/v1/"):
                requests += sample.value
                if labels.get("status", "").startswith("5"):
                    errors += sample.value
    return Reading(at=at, buckets=buckets, requests=requests, errors=errors)


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """The q-quantile of cumulative `buckets` (le → count), linear within a bucket."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_le, lower_count = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return lower_le  # beyond the last finite bound: its bound, as Prometheus
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return ordered[-1][0]


class RequestWindow:
    """Readings of one process's request series, enough to tell the last hour apart.

    Only the request counter and latency histogram are read, never the whole registry: its
    other collectors query the database, and a page reading them inside its own transaction
    would wait on itself."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.monotonic):
        self.metrics = metrics
        self.clock = clock
        self.started = Reading(at=clock())
        self._readings: deque[Reading] = deque()
        self._lock = threading.Lock()

    def last_hour(self) -> HourFigures:
        families = [*self.metrics.requests.collect(), *self.metrics.latency.collect()]
        now = read(families, self.clock())
        with self._lock:
            if not self._readings or now.at - self._readings[-1].at >= READING_EVERY_S:
                self._readings.append(now)
            while len(self._readings) > 1 and self._readings[1].at <= now.at - HOUR_S:
                self._readings.popleft()
            old = self._readings[0] if self._readings[0].at <= now.at - HOUR_S else self.started
        window_s = max(now.at - old.at, 1.0)
        per_minute: dict[str, float] = {}
        p95: dict[str, float | None] = {}
        for op, buckets in now.buckets.items():
            before = old.buckets.get(op, {})
            delta = {le: n - before.get(le, 0.0) for le, n in buckets.items()}
            total = delta.get(math.inf, 0.0)
            per_minute[op] = total / 60.0  # the hour's mean, whatever the process's age
            p95[op] = quantile(0.95, delta)
        requests = now.requests - old.requests
        ratio = (now.errors - old.errors) / requests if requests else 0.0
        return HourFigures(per_minute, p95, ratio, window_s)
