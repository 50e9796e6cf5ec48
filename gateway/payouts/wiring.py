"""Hooks `gateway.app` calls at start: the catalogue, funded budgets, banks and the worker."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import unit_of_work, utcnow
from gateway.payouts import banks, ledger
from gateway.payouts.monitoring import install_metrics
from gateway.payouts.policy import LeaseTooShort, PayoutPolicy, check_lease
from gateway.payouts.programmes import EXAMPLE_CONFIG, ProgrammeCatalogue, load_catalogue
from gateway.payouts.runtime import PayoutRuntime
from gateway.settings import Settings, SettingsError

log = logging.getLogger("gateway.payouts")


def fund_catalogue(*, session: Session, catalogue: ProgrammeCatalogue) -> dict[str, str]:
    """Bring every programme's budget account to its configured funding (serialised and
    idempotent, so every process may do it at start); the programmes that cannot reserve,
    with the reason."""
    suspended: dict[str, str] = {}
    for programme in catalogue.programmes:
        funding = ledger.fund_budget(
            session=session, programme=programme.code, budget=programme.budget, now=utcnow()
        )
        if funding.shortfall:
            suspended[programme.code] = (
                f"budget Rp {programme.budget:,} is below the Rp "
                f"{programme.budget + funding.shortfall:,} already spent or reserved"
            )
            log.warning(
                "programme suspended: budget below spending",
                extra={"programme": programme.code, "shortfall": funding.shortfall},
            )
    return suspended


def start(
    app: FastAPI, settings: Settings, session_factory: sessionmaker[Session]
) -> PayoutRuntime:
    """Load the catalogue and banks, fund budgets, start this lifespan's recovery worker."""
    catalogue = load_catalogue(settings.programmes_file or EXAMPLE_CONFIG)
    policy = PayoutPolicy(
        hold=timedelta(seconds=settings.payout_hold_seconds),
        lease=timedelta(seconds=settings.payout_lease_seconds),
        retry_after=timedelta(seconds=min(5.0, settings.payout_lease_seconds)),
        query_deadline=timedelta(hours=settings.payout_query_deadline_hours),
    )
    with unit_of_work(session_factory) as session:
        adapters = banks.load_banks(settings, session=session)
    try:
        check_lease(policy.lease, adapters)
    except LeaseTooShort as exc:
        raise SettingsError(str(exc)) from None
    with unit_of_work(session_factory) as session:
        suspended = fund_catalogue(session=session, catalogue=catalogue)
    runtime = PayoutRuntime(
        session_factory=session_factory,
        catalogue=catalogue,
        adapters=adapters,
        policy=policy,
        clock=utcnow,
        anomaly=settings.anomaly_policy(),
        suspended=suspended,
    )
    app.state.payouts = runtime
    install_metrics(app.state.metrics.registry, runtime)
    runtime.start_worker(settings.payout_recovery_interval_seconds)
    return runtime


def stop(runtime: PayoutRuntime) -> None:
    """Stop the worker this lifespan started: looked up through app.state instead, a second
    lifespan of the same app (a test tool entering it again) would hide the first's worker,
    which then ran on after its app."""
    runtime.stop_worker()
