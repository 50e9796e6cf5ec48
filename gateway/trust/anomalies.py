"""Alerts for a terminal whose sensitive events today jump above its own baseline.

A hostile terminal shows itself by doing more of what moves identity or money without the
usual evidence: payouts to households of other regions, biometric updates, supervised
fallbacks, failed attempts on many NIKs. Each kind is counted per terminal per (UTC) day and
compared with the terminal's mean over the days before; an alert row is written the first
time a day crosses the threshold (and its count kept current after), so ops sees it in the
list endpoint and in the metrics scraped from the database.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.trust import repository
from gateway.trust.models import AnomalyAlert


class AlertKind(enum.StrEnum):
    out_of_region_payout = "out_of_region_payout"
    biometric_update = "biometric_update"
    fallback = "fallback"
    failed_attempt = "failed_attempt"


@dataclass(frozen=True)
class AnomalyPolicy:
    """How far above its baseline a terminal's day must go before ops is alerted."""

    baseline_days: int = 14
    factor: float = 3.0
    min_events: int = 5


def day_start(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def count(
    session: Session,
    *,
    kind: AlertKind,
    terminal_id: str,
    region: str,
    since: dt.datetime,
    until: dt.datetime,
) -> int:
    """How many events of `kind` the terminal caused in [since, until)."""
    if kind is AlertKind.out_of_region_payout:
        return repository.away_payouts(
            session, terminal_id=terminal_id, region=region, since=since, until=until
        )
    if kind is AlertKind.biometric_update:
        return repository.biometric_updates_by_terminal(
            session, terminal_id=terminal_id, since=since, until=until
        )
    if kind is AlertKind.fallback:
        return repository.verifications_by_terminal(
            session, terminal_id=terminal_id, since=since, until=until, fallback=True
        )
    return repository.verifications_by_terminal(
        session, terminal_id=terminal_id, since=since, until=until, outcome="no_match"
    )


def observe(
    *,
    session: Session,
    kind: AlertKind,
    terminal_id: str,
    region: str,
    now: dt.datetime,
    policy: AnomalyPolicy,
    pending: int = 0,
) -> AnomalyAlert | None:
    """Raise (or keep current) today's alert when the terminal's count is above baseline.

    `pending`: events of this request not yet written when this is called.
    """
    start = day_start(now)
    today = pending + count(
        session,
        kind=kind,
        terminal_id=terminal_id,
        region=region,
        since=start,
        until=now + dt.timedelta(seconds=1),
    )
    before = count(
        session,
        kind=kind,
        terminal_id=terminal_id,
        region=region,
        since=start - dt.timedelta(days=policy.baseline_days),
        until=start,
    )
    baseline = before / policy.baseline_days
    if today <= max(policy.min_events, math.ceil(policy.factor * baseline)):
        return None
    alert = repository.alert_of(session, terminal_id=terminal_id, kind=kind, day=start.date())
    if alert is not None:
        alert.count = max(alert.count, today)
        return alert
    alert = AnomalyAlert(
        terminal_id=terminal_id, kind=kind, day=start.date(), count=today, baseline=baseline
    )
    try:
        with session.begin_nested():
            repository.add(session, alert)
    except IntegrityError:  # a concurrent request raised it first
        return repository.alert_of(session, terminal_id=terminal_id, kind=kind, day=start.date())
    return alert
