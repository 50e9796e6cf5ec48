"""Budget funding from several gateway processes starting together: funded once, not per
process."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import make_engine, make_session_factory, unit_of_work
from gateway.payouts import ledger
from gateway.payouts.wiring import fund_catalogue

from .conftest import small_catalogue

PROCESSES = 4
NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _start_up(url: str, connect_args: dict[str, Any], budget: int, barrier: Any) -> None:
    """What each gateway process does at start, all of them released at the same moment."""
    engine = make_engine(url, **({"connect_args": connect_args} if connect_args else {}))
    factory = make_session_factory(engine)
    barrier.wait(timeout=60)
    with unit_of_work(factory) as session:
        fund_catalogue(session=session, catalogue=small_catalogue(budget))
    engine.dispose()


def _restart_all(engine: Engine, budget: int) -> list[int | None]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    url = engine.url.render_as_string(hide_password=False)
    connect_args: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        # The test's private schema, as the fixture's engine was told.
        with engine.connect() as connection:
            schema = connection.exec_driver_sql("SHOW search_path").scalar()
        connect_args = {"options": f"-csearch_path={schema}"}
    processes = [
        context.Process(target=_start_up, args=(url, connect_args, budget, barrier))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    return [process.exitcode for process in processes]


@pytest.mark.slow
def test_processes_starting_together_after_a_budget_rise_fund_it_once(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    # `session_factory` empties the database after the test, for the tests that follow.
    with unit_of_work(session_factory) as session:
        fund_catalogue(session=session, catalogue=small_catalogue(2_000_000))
    assert _restart_all(engine, 3_000_000) == [0] * PROCESSES
    with unit_of_work(session_factory) as session:
        balances = {b.code: b.posted for b in ledger.balances(session=session)}
        assert balances["budget:PKH"] == balances["budget:SEMBAKO"] == 3_000_000
        budgets = {"PKH": 3_000_000, "SEMBAKO": 3_000_000}
        assert ledger.audit_ledger(session=session, budgets=budgets) == []
