"""The ledger: balanced by construction, guarded budgets, pending transfers resolved once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from gateway.payouts import ledger

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_funding_moves_money_and_balances_sum_to_zero(session: Session) -> None:
    assert ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW) == 1000
    assert ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW) == 0
    assert ledger.fund_budget(session=session, programme="P", budget=700, now=NOW) == -300
    balances = {b.code: b.posted for b in ledger.balances(session=session)}
    assert balances == {"funding:treasury": -700, "budget:P": 700}
    assert ledger.audit_ledger(session=session) == []


def test_a_budget_cannot_be_reserved_beyond_its_funds(session: Session) -> None:
    ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW)
    budget = ledger.ensure_account(session=session, code="budget:P")
    payable = ledger.ensure_account(session=session, code="payable:household:1")
    ledger.reserve(session=session, debit=budget, credit=payable, amount=800, now=NOW, memo="a")
    with pytest.raises(ledger.BudgetExhausted):
        ledger.reserve(session=session, debit=budget, credit=payable, amount=201, now=NOW, memo="b")
    ledger.reserve(session=session, debit=budget, credit=payable, amount=200, now=NOW, memo="c")
    assert ledger.audit_ledger(session=session) == []


def test_void_releases_and_post_moves_exactly_once(session: Session) -> None:
    ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW)
    budget = ledger.ensure_account(session=session, code="budget:P")
    payable = ledger.ensure_account(session=session, code="payable:household:1")
    held = ledger.reserve(
        session=session, debit=budget, credit=payable, amount=600, now=NOW, memo=""
    )
    ledger.resolve(session=session, pending=held, post_it=False, now=NOW, memo="void")
    with pytest.raises(ledger.AlreadyResolved):
        ledger.resolve(session=session, pending=held, post_it=True, now=NOW, memo="post")
    again = ledger.reserve(
        session=session, debit=budget, credit=payable, amount=1000, now=NOW, memo=""
    )
    ledger.resolve(session=session, pending=again, post_it=True, now=NOW, memo="post")
    balances = {b.code: b for b in ledger.balances(session=session)}
    assert balances["budget:P"].available == 0
    assert balances["payable:household:1"].posted == 1000
    assert ledger.audit_ledger(session=session) == []


def test_audit_detects_a_tampered_total(session: Session) -> None:
    ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW)
    account = next(a for a in ledger.repository.all_accounts(session) if a.code == "budget:P")
    account.credits_posted += 5
    session.flush()
    problems = ledger.audit_ledger(session=session)
    assert any("budget:P: credits_posted is 1005, transfers say 1000" in p for p in problems)
