"""Trust metrics read from the database at scrape time, so every process reports the same.

`satupintu_anomaly_alert_events{terminal,kind}`: today's count of each alerting terminal's
events (with `satupintu_anomaly_alert_baseline` beside it); `satupintu_biometric_updates`
by status. Counted from the rows rather than in process memory, they survive restarts and
agree across the gateway's processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.db import utcnow
from gateway.trust import repository


class TrustCollector(Collector):
    def __init__(self, state: Any) -> None:
        self.state = state  # the app's state: its session factory exists once started

    def collect(self) -> Iterator[GaugeMetricFamily]:
        factory = getattr(self.state, "session_factory", None)
        if factory is None:
            return
        events = GaugeMetricFamily(
            "satupintu_anomaly_alert_events",
            "Today's events of an alerting terminal, by kind",
            labels=["terminal", "kind"],
        )
        baseline = GaugeMetricFamily(
            "satupintu_anomaly_alert_baseline",
            "The alerting terminal's mean events per day before today, by kind",
            labels=["terminal", "kind"],
        )
        updates = GaugeMetricFamily(
            "satupintu_biometric_updates", "Biometric updates by status", labels=["status"]
        )
        with factory() as session:
            for alert in repository.alerts(
                session, since=utcnow().date(), kind=None, limit=1000, offset=0
            ):
                events.add_metric([alert.terminal_id, alert.kind], alert.count)
                baseline.add_metric([alert.terminal_id, alert.kind], alert.baseline)
            for status, count in repository.update_counts(session):
                updates.add_metric([status], count)
        yield events
        yield baseline
        yield updates
