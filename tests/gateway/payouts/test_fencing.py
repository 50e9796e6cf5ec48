"""Slow failures: a send still on its way, a worker past its lease, a bank that answers badly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from adapters.base import TransferRequest, TransferResult
from adapters.faults import Fault
from adapters.simulated import SimulatedBankAdapter
from gateway.audit.models import AuditEntry
from gateway.audit.service import verify_chain
from gateway.db import unit_of_work
from gateway.payouts import ledger, repository
from gateway.payouts.driver import drive, recover
from gateway.payouts.policy import LeaseTooShort, check_lease, send_window
from gateway.payouts.service import reserve
from gateway.payouts.states import PayoutState

from .conftest import BANK, Rig

FAMILY_TOTAL = 600_000 + 750_000 + 200_000


class StalledSubmit:
    """The bank adapter of a worker that stalls in the middle of its submit: while its
    request is on its way, `meanwhile` runs (another worker's recovery pass)."""

    def __init__(self, inner: SimulatedBankAdapter, meanwhile: Callable[[], None]) -> None:
        self.inner = inner
        self.meanwhile = meanwhile
        self.stalled = False

    def submit(self, transfer: TransferRequest) -> TransferResult:
        if not self.stalled:
            self.stalled = True
            self.meanwhile()
        return self.inner.submit(transfer)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _reserve(rig: Rig, key: str = "k1") -> int:
    with unit_of_work(rig.factory) as session:
        return reserve(
            session=session,
            order=rig.order(1, key=key),
            catalogue=rig.catalogue,
            now=rig.clock(),
            policy=rig.policy,
        ).payout.id


def _recover(rig: Rig, adapter: object | None = None) -> list[int]:
    return recover(
        session_factory=rig.factory,
        adapters={BANK: adapter or rig.adapter},  # type: ignore[dict-item]
        clock=rig.clock,
        policy=rig.policy,
    )


def _state(rig: Rig, payout_id: int) -> str:
    with unit_of_work(rig.factory) as session:
        payout = repository.payout_by_id(session, payout_id)
        assert payout is not None
        return payout.state


def _paid_as_booked(rig: Rig, payout_id: int) -> None:
    """The bank's books and the ledger tell the same story, whatever happened in between."""
    state = _state(rig, payout_id)
    paid = rig.bank.balance(rig.creditor.number)
    assert (state, paid) in {(PayoutState.COMMITTED, FAMILY_TOTAL), (PayoutState.VOIDED, 0)}
    with unit_of_work(rig.factory) as session:
        assert ledger.audit_ledger(session=session) == []


def _race(
    rig: Rig, adapter: SimulatedBankAdapter, stall: timedelta, idle: timedelta = timedelta(0)
) -> int:
    """Worker 1 submits `idle` after the reservation; its request is held up for `stall`
    while worker 2 recovers."""
    payout_id = _reserve(rig)
    rig.clock.advance(idle.total_seconds())

    def second_worker() -> None:
        rig.clock.advance(stall.total_seconds())
        _recover(rig, adapter)

    drive(
        session_factory=rig.factory,
        payout_id=payout_id,
        adapters={BANK: StalledSubmit(adapter, second_worker)},  # type: ignore[dict-item]
        clock=rig.clock,
        policy=rig.policy,
    )
    for _ in range(40):
        rig.clock.advance(rig.policy.max_backoff.total_seconds())
        _recover(rig, adapter)
    return payout_id


def test_a_send_arriving_after_the_void_is_refused_by_its_expiry(rig: Rig) -> None:
    # Worker 2 finds nothing at the bank after the hold and voids; worker 1's request then
    # arrives. Without the instruction's expiry the bank pays a voided payout.
    payout_id = _race(rig, rig.adapter, rig.policy.hold + rig.policy.lease)
    assert _state(rig, payout_id) == PayoutState.VOIDED
    _paid_as_booked(rig, payout_id)


@pytest.mark.parametrize("stall_s", [3.0, 6.5])
def test_without_expiry_a_not_found_within_the_send_window_voids_nothing(
    rig: Rig, stall_s: float
) -> None:
    adapter = SimulatedBankAdapter(
        rig.bank, faults=rig.faults, timeout_s=5.0, sleep=rig.clock.sleep, honour_expiry=False
    )
    # The hold is almost over when the send begins, so worker 2's query comes after it.
    rig.policy = type(rig.policy)(hold=rig.policy.hold, lease=timedelta(seconds=1))
    idle = rig.policy.hold - timedelta(seconds=1)
    payout_id = _race(rig, adapter, timedelta(seconds=stall_s), idle)
    assert stall_s < send_window(adapter).total_seconds()
    assert _state(rig, payout_id) == PayoutState.COMMITTED
    _paid_as_booked(rig, payout_id)


def test_an_answer_under_a_lost_lease_is_kept_not_applied(rig: Rig) -> None:
    payout_id = _reserve(rig)
    seen: list[str] = []

    def second_worker() -> None:
        rig.clock.advance(rig.policy.lease.total_seconds() + 1)
        _recover(rig)
        seen.append(_state(rig, payout_id))

    drive(
        session_factory=rig.factory,
        payout_id=payout_id,
        adapters={BANK: StalledSubmit(rig.adapter, second_worker)},  # type: ignore[dict-item]
        clock=rig.clock,
        policy=rig.policy,
    )
    # Worker 2 found nothing and queued a new submission; worker 1's "settled" came back
    # under the old epoch and is recorded only.
    assert seen == [PayoutState.RESERVED]
    assert _state(rig, payout_id) == PayoutState.RESERVED
    with unit_of_work(rig.factory) as session:
        late = repository.late_answers_of(session, payout_id)
        assert [(a.epoch, a.answer, a.amount) for a in late] == [(1, "settled", FAMILY_TOTAL)]
    rig.clock.advance(rig.policy.max_backoff.total_seconds())
    _recover(rig)
    assert _state(rig, payout_id) == PayoutState.COMMITTED
    assert rig.bank.bookings(_reference(rig, payout_id)) == 1
    _paid_as_booked(rig, payout_id)


def _reference(rig: Rig, payout_id: int) -> str:
    with unit_of_work(rig.factory) as session:
        payout = repository.payout_by_id(session, payout_id)
        assert payout is not None
        return payout.reference


def test_garbled_status_answers_are_asked_again_not_sent_to_review(rig: Rig) -> None:
    rig.faults.force("submit", Fault.LOST_ANSWER)
    rig.faults.force("status", *[Fault.MALFORMED, Fault.WRONG_AMOUNT, Fault.UNKNOWN_STATUS] * 3)
    payout_id = _reserve(rig)
    drive(
        session_factory=rig.factory,
        payout_id=payout_id,
        adapters={BANK: rig.adapter},
        clock=rig.clock,
        policy=rig.policy,
    )
    waits = []
    for _ in range(10):
        with unit_of_work(rig.factory) as session:
            task = session.scalar(
                repository.select(repository.PayoutTask).where(
                    repository.PayoutTask.payout_id == payout_id
                )
            )
            if task is None:
                break
            waits.append((task.leased_until - rig.clock()).total_seconds())
            rig.clock.advance(waits[-1])
        _recover(rig)
    assert _state(rig, payout_id) == PayoutState.COMMITTED
    # Backoff: each wait at least as long as the one before, growing overall.
    assert waits == sorted(waits) and waits[-1] > waits[0]


def test_no_answer_for_hours_goes_to_a_person_with_the_money_held(rig: Rig) -> None:
    rig.faults.force("submit", Fault.LOST_ANSWER)
    rig.faults.force("status", *[Fault.TIMEOUT] * 200)
    payout_id = _reserve(rig)
    rig.clock.advance(rig.policy.lease.total_seconds() + 1)
    while _state(rig, payout_id) != PayoutState.NEEDS_REVIEW:
        assert rig.clock() < rig.clock() + rig.policy.query_deadline
        rig.clock.advance(rig.policy.max_backoff.total_seconds())
        _recover(rig)
    with unit_of_work(rig.factory) as session:
        payout = repository.payout_by_id(session, payout_id)
        assert payout is not None and payout.failure_code == "outcome_unknown"
        assert payout.updated_at >= payout.created_at + rig.policy.query_deadline
        held = {b.code: b for b in ledger.balances(session=session)}["budget:PKH"]
        assert held.pending_debits == 1_350_000


def test_a_lease_shorter_than_a_bank_call_is_refused(rig: Rig) -> None:
    check_lease(timedelta(seconds=30), {BANK: rig.adapter})
    with pytest.raises(LeaseTooShort, match="longest call"):
        check_lease(timedelta(seconds=2), {BANK: rig.adapter})


def test_every_decision_is_in_the_audit_chain(rig: Rig) -> None:
    paid = _reserve(rig, "a")
    drive(
        session_factory=rig.factory,
        payout_id=paid,
        adapters={BANK: rig.adapter},
        clock=rig.clock,
        policy=rig.policy,
    )
    reference = _reference(rig, paid)
    with unit_of_work(rig.factory) as session:
        entries = session.scalars(repository.select(AuditEntry)).all()
        assert [(e.kind, e.subject, e.data["decision"]) for e in entries] == [
            ("payout", f"payout:{reference}", "paid")
        ]
        data = entries[0].data
        assert data["amount"] == FAMILY_TOTAL
        assert data["programmes"] == ["PKH", "SEMBAKO"]
        assert (data["terminal"], data["verification"]) == ("T-1", "tok-1-a")
        assert verify_chain(session=session).ok
        entries[0].data = {**data, "amount": 1}
        session.flush()
        assert not verify_chain(session=session).ok
        session.rollback()
