"""The payout state machine against a simulated bank that loses, declines and delays."""

from __future__ import annotations

import pytest

from adapters.faults import Fault
from gateway.db import unit_of_work
from gateway.payouts import ledger, repository
from gateway.payouts.driver import drive, recover
from gateway.payouts.service import (
    EntitlementAlreadyClaimed,
    IdempotencyKeyReused,
    NothingDue,
    PayoutOrder,
    ProgrammeSuspended,
    TokenAlreadyUsed,
    find_replay,
    reserve,
)
from gateway.payouts.states import PayoutState

from .conftest import BANK, Rig, small_catalogue

FAMILY_TOTAL = 600_000 + 750_000 + 200_000


def _reserve(rig: Rig, order: PayoutOrder) -> int:
    with unit_of_work(rig.factory) as session:
        reserved = reserve(
            session=session,
            order=order,
            catalogue=rig.catalogue,
            now=rig.clock(),
            policy=rig.policy,
        )
        return reserved.payout.id


def _drive(rig: Rig, payout_id: int) -> str:
    return drive(
        session_factory=rig.factory,
        payout_id=payout_id,
        adapters={BANK: rig.adapter},
        clock=rig.clock,
        policy=rig.policy,
    ).state


def _recover(rig: Rig) -> list[int]:
    return recover(
        session_factory=rig.factory,
        adapters={BANK: rig.adapter},
        clock=rig.clock,
        policy=rig.policy,
    )


def _ledger_sound(rig: Rig) -> None:
    with unit_of_work(rig.factory) as session:
        assert ledger.audit_ledger(session=session) == []


def test_happy_path_pays_every_line_once(rig: Rig) -> None:
    payout_id = _reserve(rig, rig.order(1))
    assert _drive(rig, payout_id) == PayoutState.COMMITTED
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL
    _ledger_sound(rig)
    with pytest.raises(NothingDue), unit_of_work(rig.factory) as session:
        reserve(
            session=session,
            order=rig.order(1, key="k2"),
            catalogue=rig.catalogue,
            now=rig.clock(),
            policy=rig.policy,
        )
    with unit_of_work(rig.factory) as session:
        balances = {b.code: b for b in ledger.balances(session=session)}
    assert balances["settlement:BRINIDJA"].posted == FAMILY_TOTAL
    assert balances["budget:PKH"].available == 10_000_000 - 1_350_000


def test_rejection_voids_and_releases_the_entitlements(rig: Rig) -> None:
    rig.faults.force("submit", Fault.DECLINE)
    payout_id = _reserve(rig, rig.order(1))
    assert _drive(rig, payout_id) == PayoutState.VOIDED
    assert rig.bank.balance(rig.creditor.number) == 0
    _ledger_sound(rig)
    retry = _reserve(rig, rig.order(1, key="k2"))
    assert _drive(rig, retry) == PayoutState.COMMITTED
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL


def test_lost_answer_is_resolved_by_status_and_paid_once(rig: Rig) -> None:
    rig.faults.force("submit", Fault.LOST_ANSWER)
    payout_id = _reserve(rig, rig.order(1))
    assert _drive(rig, payout_id) == PayoutState.SUBMITTED
    rig.clock.advance(rig.policy.retry_after.total_seconds() + 1)
    assert _recover(rig) == [payout_id]
    with unit_of_work(rig.factory) as session:
        assert repository.payout_by_id(session, payout_id).state == PayoutState.COMMITTED  # type: ignore[union-attr]
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL
    _ledger_sound(rig)


def test_request_that_never_reached_the_bank_is_resubmitted(rig: Rig) -> None:
    rig.faults.force("submit", Fault.TIMEOUT)
    payout_id = _reserve(rig, rig.order(1))
    assert _drive(rig, payout_id) == PayoutState.SUBMITTED
    for _ in range(2):
        rig.clock.advance(rig.policy.lease.total_seconds() + 1)
        _recover(rig)
    with unit_of_work(rig.factory) as session:
        assert repository.payout_by_id(session, payout_id).state == PayoutState.COMMITTED  # type: ignore[union-attr]
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL


def test_crash_after_reserve_is_finished_by_recovery(rig: Rig) -> None:
    payout_id = _reserve(rig, rig.order(1))
    assert _recover(rig) == []
    rig.clock.advance(rig.policy.lease.total_seconds() + 1)
    assert _recover(rig) == [payout_id]
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL
    assert _recover(rig) == []


def _state(rig: Rig, payout_id: int) -> str:
    with unit_of_work(rig.factory) as session:
        payout = repository.payout_by_id(session, payout_id)
        assert payout is not None
        return payout.state


def test_settlement_after_the_hold_is_committed_not_held_for_review(rig: Rig) -> None:
    rig.faults.force("submit", Fault.LATE_ANSWER)
    payout_id = _reserve(rig, rig.order(1))
    assert _drive(rig, payout_id) == PayoutState.SUBMITTED
    rig.clock.advance(rig.policy.hold.total_seconds() + 60)
    _recover(rig)
    assert _state(rig, payout_id) == PayoutState.COMMITTED
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL
    _ledger_sound(rig)


def test_idempotency_key_replays_and_refuses_a_different_body(rig: Rig) -> None:
    order = rig.order(1)
    first = _reserve(rig, order)
    assert _reserve(rig, order) == first
    with unit_of_work(rig.factory) as session:
        assert (
            find_replay(
                session=session,
                terminal_id="T-1",
                idempotency_key="k1",
                body_hash=order.request_hash,
            )
            is not None
        )
        with pytest.raises(IdempotencyKeyReused):
            find_replay(
                session=session, terminal_id="T-1", idempotency_key="k1", body_hash="x" * 64
            )


def test_a_token_pays_once(rig: Rig) -> None:
    _reserve(rig, rig.order(1, key="a", token="same"))
    with pytest.raises(TokenAlreadyUsed):
        _reserve(rig, rig.order(2, key="b", token="same"))


def test_a_live_claim_blocks_a_second_payout_of_the_same_line(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reserve(rig, rig.order(1, key="a"))
    # The race: the second payout computed its lines before the first one's claims were
    # visible. Only the claims' unique key can stop it now.
    monkeypatch.setattr(repository, "claims_for_subjects", lambda session, subjects: [])
    with pytest.raises(EntitlementAlreadyClaimed):
        _reserve(rig, rig.order(1, key="b"))
    monkeypatch.undo()
    with unit_of_work(rig.factory) as session:
        states = [p.state for p in repository.payouts_in_states(session, list(PayoutState))]
    assert states == [PayoutState.RESERVED]


def test_budget_is_never_overspent_and_a_refusal_writes_nothing(rig: Rig) -> None:
    rig.catalogue = small_catalogue(budget=2_000_000)
    with unit_of_work(rig.factory) as session:
        ledger.fund_budget(session=session, programme="PKH", budget=1_400_000, now=rig.clock())
    _reserve(rig, rig.order(1))
    with pytest.raises(ledger.BudgetExhausted):
        _reserve(rig, rig.order(2, key="k2"))
    with unit_of_work(rig.factory) as session:
        assert (
            repository.payout_by_key(session, terminal_id="T-1", idempotency_key="k1") is not None
        )
        assert len(repository.payouts_in_states(session, [s.value for s in PayoutState])) == 1
    _ledger_sound(rig)


def test_a_suspended_programme_reserves_nothing_and_says_why(rig: Rig) -> None:
    refused = pytest.raises(ProgrammeSuspended, match="PKH: budget below spending")
    with refused, unit_of_work(rig.factory) as session:
        reserve(
            session=session,
            order=rig.order(1),
            catalogue=rig.catalogue,
            now=rig.clock(),
            policy=rig.policy,
            suspended={"PKH": "budget below spending"},
        )
    with unit_of_work(rig.factory) as session:
        assert repository.payouts_in_states(session, list(PayoutState)) == []
