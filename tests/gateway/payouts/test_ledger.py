"""The ledger: balanced by construction, guarded budgets, pending transfers resolved once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.payouts import ledger
from gateway.payouts.models import LedgerTransfer

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _moved(session: Session, budget: int) -> int:
    return ledger.fund_budget(session=session, programme="P", budget=budget, now=NOW).moved


def test_funding_moves_money_and_balances_sum_to_zero(session: Session) -> None:
    assert _moved(session, 1000) == 1000
    assert _moved(session, 1000) == 0
    assert _moved(session, 700) == -300
    balances = {b.code: b.posted for b in ledger.balances(session=session)}
    assert balances == {"funding:treasury": -700, "budget:P": 700}
    assert ledger.audit_ledger(session=session, budgets={"P": 700}) == []
    assert ledger.audit_ledger(session=session, budgets={"P": 1000}) == [
        "budget:P: funded Rp 700, configured Rp 1,000"
    ]


def test_a_budget_lowered_below_its_spending_keeps_what_is_spent(session: Session) -> None:
    _moved(session, 1000)
    budget = ledger.ensure_account(session=session, code="budget:P")
    payable = ledger.ensure_account(session=session, code="payable:household:1")
    _hold(session, budget, payable, 600)
    funding = ledger.fund_budget(session=session, programme="P", budget=400, now=NOW)
    assert (funding.moved, funding.shortfall) == (-400, 200)
    available = {b.code: b.available for b in ledger.balances(session=session)}
    assert available["budget:P"] == 0
    assert ledger.audit_ledger(session=session) == []


def _hold(session: Session, budget: int, payable: int, amount: int) -> int:
    """A pending transfer (a reservation) booked as the pay path books it; its id."""
    (held,) = ledger.book(
        session=session, moves=[ledger.Move("pending", budget, payable, amount, "")], now=NOW
    )
    return held


def _resolve(session: Session, held: int, *, post_it: bool) -> None:
    pending = session.get(LedgerTransfer, held)
    assert pending is not None
    move = ledger.resolution(pending, post_it=post_it, memo="resolve")
    ledger.book(session=session, moves=[move], now=NOW)


def test_a_budget_cannot_be_reserved_beyond_its_funds(session: Session) -> None:
    ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW)
    budget = ledger.ensure_account(session=session, code="budget:P")
    payable = ledger.ensure_account(session=session, code="payable:household:1")
    _hold(session, budget, payable, 800)
    with pytest.raises(ledger.BudgetExhausted), session.begin_nested():
        _hold(session, budget, payable, 201)
    _hold(session, budget, payable, 200)
    assert ledger.audit_ledger(session=session) == []


def test_a_booking_is_checked_whole_before_anything_is_written(session: Session) -> None:
    ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW)
    budget = ledger.ensure_account(session=session, code="budget:P")
    moves = [
        ledger.Move("pending", budget, "payable:household:1", 600, "a"),
        ledger.Move("pending", budget, "payable:household:2", 600, "b"),
    ]
    with pytest.raises(ledger.BudgetExhausted), session.begin_nested():
        ledger.book(session=session, moves=moves, now=NOW)
    balances = {b.code: b for b in ledger.balances(session=session)}
    assert balances["budget:P"].available == 1000
    assert ledger.audit_ledger(session=session) == []


def test_void_releases_and_post_moves_exactly_once(session: Session) -> None:
    ledger.fund_budget(session=session, programme="P", budget=1000, now=NOW)
    budget = ledger.ensure_account(session=session, code="budget:P")
    payable = ledger.ensure_account(session=session, code="payable:household:1")
    held = _hold(session, budget, payable, 600)
    _resolve(session, held, post_it=False)
    with pytest.raises(IntegrityError), session.begin_nested():
        _resolve(session, held, post_it=True)
    again = _hold(session, budget, payable, 1000)
    _resolve(session, again, post_it=True)
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


def test_known_accounts_answer_for_committed_accounts_only(
    session_factory: sessionmaker[Session],
) -> None:
    """Ids are remembered once seen committed; an account created by a transaction that
    rolls back (its id may be reused) is never remembered."""
    known = ledger.KnownAccounts()
    with session_factory() as session:
        ledger.ensure_accounts(session=session, codes=["payable:household:9"], known=known)
        # Read back in the same transaction: seen, but not committed.
        ledger.ensure_accounts(session=session, codes=["payable:household:9"], known=known)
        session.rollback()
    assert known.lookup(["payable:household:9"]) == {}

    with session_factory.begin() as session:
        created = ledger.ensure_accounts(session=session, codes=["budget:P"], known=known)
    assert known.lookup(["budget:P"]) == {}  # created, not read: learnt at the next reading
    with session_factory.begin() as session:
        assert ledger.ensure_accounts(session=session, codes=["budget:P"], known=known) == created
    assert known.lookup(["budget:P"]) == created

    statements: list[str] = []
    engine = session_factory.kw["bind"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with session_factory.begin() as session:
            assert ledger.ensure_accounts(session=session, codes=["budget:P"], known=known) == (
                created
            )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert statements == []


def test_a_new_account_costs_one_statement_and_a_committed_one_is_remembered(
    session_factory: sessionmaker[Session],
) -> None:
    """A process that remembers accounts creates an account it has not seen without reading
    first; once the transaction has committed, its caller may remember the id."""
    known = ledger.KnownAccounts()
    statements: list[str] = []
    engine = session_factory.kw["bind"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with session_factory.begin() as session:
            created = ledger.ensure_accounts(
                session=session, codes=["payable:household:7"], known=known
            )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT")
    assert known.lookup(["payable:household:7"]) == {}
    known.remember_committed(created)
    assert known.lookup(["payable:household:7"]) == created
    with session_factory.begin() as session:
        # Already there: the insert does nothing and the id is read instead.
        assert (
            ledger.ensure_accounts(
                session=session, codes=["payable:household:7"], known=ledger.KnownAccounts()
            )
            == created
        )


def test_known_accounts_forget_the_older_half_past_their_limit() -> None:
    known = ledger.KnownAccounts(limit=4)
    known.remember_committed({f"payable:household:{i}": i for i in range(5)})
    assert known.lookup(f"payable:household:{i}" for i in range(5)) == {
        f"payable:household:{i}": i for i in range(2, 5)
    }
