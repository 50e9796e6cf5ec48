"""A programme's budget follows its configuration both ways: raised, the treasury funds the
difference; lowered, the difference goes back; unchanged, nothing moves."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from gateway.db import unit_of_work
from gateway.payouts.ledger import (
    FUNDING_ACCOUNT,
    Funding,
    audit_ledger,
    balances,
    budget_account,
    fund_budget,
)

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _fund(factory: sessionmaker[Session], budget: int) -> tuple[Funding, dict[str, int]]:
    with unit_of_work(factory) as session:
        funding = fund_budget(session=session, programme="PKH", budget=budget, now=NOW)
        posted = {b.code: b.posted for b in balances(session=session)}
        assert audit_ledger(session=session, budgets={"PKH": budget}) == []
    return funding, posted


def test_a_budget_is_funded_raised_lowered_and_left_alone(
    session_factory: sessionmaker[Session],
) -> None:
    first, posted = _fund(session_factory, 1_000_000)
    assert first == Funding("PKH", 1_000_000, 1_000_000, shortfall=0)
    assert posted[budget_account("PKH")] == 1_000_000
    assert posted[FUNDING_ACCOUNT] == -1_000_000

    lowered, posted = _fund(session_factory, 600_000)
    assert lowered == Funding("PKH", 600_000, -400_000, shortfall=0)
    assert posted[budget_account("PKH")] == 600_000
    assert posted[FUNDING_ACCOUNT] == -600_000

    same, posted = _fund(session_factory, 600_000)
    assert same == Funding("PKH", 600_000, 0, shortfall=0)
    assert posted[budget_account("PKH")] == 600_000
