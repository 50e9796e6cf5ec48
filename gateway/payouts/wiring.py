"""Hooks `gateway.app` calls: payout routes at build time, catalogue, banks and worker at start."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import unit_of_work, utcnow
from gateway.payouts import banks, endpoints, ledger
from gateway.payouts.programmes import EXAMPLE_CONFIG, ProgrammeCatalogue, load_catalogue
from gateway.payouts.runtime import PayoutRuntime
from gateway.payouts.service import PayoutPolicy
from gateway.settings import Settings


def install(app: FastAPI) -> None:
    app.include_router(endpoints.router)
    app.include_router(endpoints.ops_router)


def fund_catalogue(*, session: Session, catalogue: ProgrammeCatalogue) -> None:
    """Bring every programme's budget account to its configured funding."""
    for programme in catalogue.programmes:
        ledger.fund_budget(
            session=session, programme=programme.code, budget=programme.budget, now=utcnow()
        )


def start(
    app: FastAPI, settings: Settings, session_factory: sessionmaker[Session]
) -> PayoutRuntime:
    """Load the catalogue and banks, fund budgets, start this lifespan's recovery worker."""
    catalogue = load_catalogue(settings.programmes_file or EXAMPLE_CONFIG)
    with unit_of_work(session_factory) as session:
        fund_catalogue(session=session, catalogue=catalogue)
        adapters = banks.load_banks(settings, session=session)
    runtime = PayoutRuntime(
        session_factory=session_factory,
        catalogue=catalogue,
        adapters=adapters,
        policy=PayoutPolicy(
            hold=timedelta(seconds=settings.payout_hold_seconds),
            lease=timedelta(seconds=settings.payout_lease_seconds),
            retry_after=timedelta(seconds=min(5.0, settings.payout_lease_seconds)),
        ),
        clock=utcnow,
        anomaly=settings.anomaly_policy(),
    )
    app.state.payouts = runtime
    runtime.start_worker(settings.payout_recovery_interval_seconds)
    return runtime


def stop(runtime: PayoutRuntime) -> None:
    """Stop the worker this lifespan started: looked up through app.state instead, a second
    lifespan of the same app (a test tool entering it again) would hide the first's worker,
    which then ran on after its app."""
    runtime.stop_worker()
