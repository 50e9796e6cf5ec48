"""Real threads racing on one database: retries pay once, budgets are never overspent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from gateway.db import unit_of_work
from gateway.errors import GatewayError
from gateway.payouts import ledger, repository
from gateway.payouts.driver import drive
from gateway.payouts.service import PayoutOrder, reserve
from gateway.payouts.states import PayoutState

from .conftest import BANK, Rig


def _attempt(rig: Rig, order: PayoutOrder) -> int | str:
    try:
        with unit_of_work(rig.factory) as session:
            payout_id = reserve(
                session=session,
                order=order,
                catalogue=rig.catalogue,
                now=rig.clock(),
                policy=rig.policy,
            ).payout.id
    except GatewayError as exc:
        return exc.code
    drive(
        session_factory=rig.factory,
        payout_id=payout_id,
        adapters={BANK: rig.adapter},
        clock=rig.clock,
        policy=rig.policy,
    )
    return payout_id


def test_fifty_concurrent_retries_of_one_payout_pay_once(rig: Rig) -> None:
    order = rig.order(1)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: _attempt(rig, order), range(50)))
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert rig.bank.balance(rig.creditor.number) == 600_000 + 750_000 + 200_000
    with unit_of_work(rig.factory) as session:
        assert ledger.audit_ledger(session=session) == []


def test_one_token_raced_under_different_keys_pays_once(rig: Rig) -> None:
    orders = [rig.order(1, key=f"key-{i}", token="one-token") for i in range(20)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda o: _attempt(rig, o), orders))
    paid = [r for r in results if isinstance(r, int)]
    assert len(paid) == 1
    assert set(results) - set(paid) <= {
        "token_already_used",
        "entitlement_already_claimed",
        "nothing_due",
    }


def test_concurrent_families_never_overspend_a_budget(rig: Rig) -> None:
    with unit_of_work(rig.factory) as session:
        # Enough PKH budget for exactly three families (1,350,000 each).
        ledger.fund_budget(session=session, programme="PKH", budget=4_050_000, now=rig.clock())
    orders = [rig.order(family, key=f"fam-{family}") for family in range(1, 13)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda o: _attempt(rig, o), orders))
    assert sum(isinstance(r, int) for r in results) == 3
    assert results.count("budget_exhausted") == 9
    with unit_of_work(rig.factory) as session:
        committed = repository.payouts_in_states(session, [PayoutState.COMMITTED.value])
        assert len(committed) == 3
        budget = {b.code: b for b in ledger.balances(session=session)}["budget:PKH"]
        assert budget.available == 0
        assert ledger.audit_ledger(session=session) == []
