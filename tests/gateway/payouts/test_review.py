"""Payouts in review: settled by the bank's statement where it proves something, by people
(with a second signature above the limit) where it does not, every step audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.faults import Fault
from adapters.simulated import SimulatedBankAdapter
from gateway.audit.models import AuditEntry
from gateway.audit.service import verify_chain
from gateway.db import unit_of_work
from gateway.payouts import ledger, reconciliation, repository, review
from gateway.payouts.driver import drive, recover
from gateway.payouts.monitoring import PAID_AFTER_VOID
from gateway.payouts.programmes import payment_day
from gateway.payouts.service import reserve
from gateway.payouts.states import PayoutState

from .conftest import BANK, Rig
from .test_fencing import StalledSubmit

FAMILY_TOTAL = 600_000 + 750_000 + 200_000


def _reserve(rig: Rig, household: int = 1, key: str = "k1") -> int:
    with unit_of_work(rig.factory) as session:
        return reserve(
            session=session,
            order=rig.order(household, key=key),
            catalogue=rig.catalogue,
            now=rig.clock(),
            policy=rig.policy,
        ).payout.id


def _drive(rig: Rig, payout_id: int, adapter: object | None = None) -> str:
    return drive(
        session_factory=rig.factory,
        payout_id=payout_id,
        adapters={BANK: adapter or rig.adapter},  # type: ignore[dict-item]
        clock=rig.clock,
        policy=rig.policy,
    ).state


def _until_settled(rig: Rig, adapter: SimulatedBankAdapter | None = None) -> None:
    """Run the recovery worker until nothing is left to ask the bank about."""
    for _ in range(200):
        with unit_of_work(rig.factory) as session:
            if not repository.due_task_payout_ids(
                session, now=rig.clock() + rig.policy.query_deadline, limit=1
            ):
                return
        rig.clock.advance(rig.policy.max_backoff.total_seconds())
        recover(
            session_factory=rig.factory,
            adapters={BANK: adapter or rig.adapter},
            clock=rig.clock,
            policy=rig.policy,
        )
    raise AssertionError("payouts still open after the query deadline")


def _payout(rig: Rig, payout_id: int) -> tuple[str, str | None, str]:
    with unit_of_work(rig.factory) as session:
        payout = repository.payout_by_id(session, payout_id)
        assert payout is not None
        return payout.state, payout.failure_code, payout.reference


def _reconcile(rig: Rig, day: date) -> reconciliation.ReconciliationReport:
    with unit_of_work(rig.factory) as session:
        return reconciliation.reconcile(
            session=session, adapter=rig.adapter, day=day, resolve_at=rig.clock()
        )


def _audit(rig: Rig, reference: str) -> list[tuple[str, str]]:
    with unit_of_work(rig.factory) as session:
        assert verify_chain(session=session).ok
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject == f"payout:{reference}")
            .order_by(AuditEntry.seq)
        ).all()
        return [(e.actor, str(e.data["decision"])) for e in entries]


def _sound(rig: Rig) -> None:
    with unit_of_work(rig.factory) as session:
        assert ledger.audit_ledger(session=session) == []


def _stuck_in_review(rig: Rig, submit: Fault) -> int:
    """A payout whose submission fails with `submit` and whose status never answers."""
    rig.faults.force("submit", submit)
    rig.faults.force("status", *[Fault.TIMEOUT] * 100)
    payout_id = _reserve(rig)
    _drive(rig, payout_id)
    _until_settled(rig)
    assert _payout(rig, payout_id)[:2] == (PayoutState.NEEDS_REVIEW, "outcome_unknown")
    rig.faults.clear("status")  # the bank's status service answers again
    return payout_id


def test_the_statement_commits_a_payout_in_review_that_the_bank_paid(rig: Rig) -> None:
    payout_id = _stuck_in_review(rig, Fault.LOST_ANSWER)
    day = payment_day(rig.clock())
    report = _reconcile(rig, day)
    state, code, reference = _payout(rig, payout_id)
    assert (state, code) == (PayoutState.COMMITTED, None)
    assert report.resolved_committed == [reference]
    assert report.count("matched") == 1 and report.clean
    assert _audit(rig, reference)[-1] == ("system:reconciliation", "paid")
    _sound(rig)


def test_absent_from_the_next_business_days_statement_and_not_found_is_voided(
    rig: Rig,
) -> None:
    payout_id = _stuck_in_review(rig, Fault.TIMEOUT)
    created = payment_day(rig.clock())
    assert created.weekday() == 4  # a Friday: the following business day is Monday
    assert _reconcile(rig, created).resolved_voided == []
    assert _payout(rig, payout_id)[0] == PayoutState.NEEDS_REVIEW
    rig.clock.advance(timedelta(days=3).total_seconds())
    # Without the bank's own "not found", absence from the statements proves nothing.
    rig.faults.force("status", *[Fault.TIMEOUT] * review.STATUS_ATTEMPTS)
    assert _reconcile(rig, created + timedelta(days=3)).resolved_voided == []
    report = _reconcile(rig, created + timedelta(days=3))
    state, code, reference = _payout(rig, payout_id)
    assert (state, code) == (PayoutState.VOIDED, "not_at_bank")
    assert report.resolved_voided == [reference]
    assert _audit(rig, reference)[-1] == ("system:reconciliation", "voided")
    _sound(rig)
    # The claims are released: the household can be paid on its next visit.
    assert _drive(rig, _reserve(rig, key="k2")) == PayoutState.COMMITTED


def test_a_payment_for_a_voided_payout_is_booked_and_flagged_critical(rig: Rig) -> None:
    # A bank without expiries and a send delayed far past its bounded duration: the gateway
    # voids on proof that turns out wrong, and only the statement shows it.
    adapter = SimulatedBankAdapter(
        rig.bank, faults=rig.faults, timeout_s=5.0, sleep=rig.clock.sleep, honour_expiry=False
    )
    payout_id = _reserve(rig)

    def meanwhile() -> None:
        rig.clock.advance((rig.policy.hold + rig.policy.lease).total_seconds())
        _until_settled(rig, adapter)

    _drive(rig, payout_id, StalledSubmit(adapter, meanwhile))
    assert _payout(rig, payout_id)[0] == PayoutState.VOIDED
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL
    report = _reconcile(rig, payment_day(rig.clock()))
    state, code, reference = _payout(rig, payout_id)
    assert (state, code) == (PayoutState.COMMITTED, PAID_AFTER_VOID)
    assert report.count(PAID_AFTER_VOID) == 1 and not report.clean
    assert _audit(rig, reference)[-1] == ("system:reconciliation", PAID_AFTER_VOID)
    _sound(rig)
    # Its entitlements are claimed again: the next visit is not paid them a second time.
    with pytest.raises(Exception, match="Nothing is due"):
        _reserve(rig, key="k2")


def test_an_operator_decides_small_amounts_alone_and_large_ones_with_a_supervisor(
    rig: Rig,
) -> None:
    payout_id = _stuck_in_review(rig, Fault.LOST_ANSWER)
    reference = _payout(rig, payout_id)[2]
    now: datetime = rig.clock()

    def decide(limit: int) -> str:
        with unit_of_work(rig.factory) as session:
            return review.resolve(
                session=session,
                reference=reference,
                decision="commit",
                reason="The bank's teller confirmed the credit by phone.",
                evidence="BRIN0000000042",
                operator="operator:ops-1",
                now=now,
                second_signature_above=limit,
            ).status

    assert decide(limit=FAMILY_TOTAL - 1) == "awaiting"
    assert _payout(rig, payout_id)[0] == PayoutState.NEEDS_REVIEW
    with pytest.raises(review.SecondSignatureRequired), unit_of_work(rig.factory) as session:
        review.approve(session=session, reference=reference, supervisor="operator:ops-1", now=now)
    with unit_of_work(rig.factory) as session:
        review.approve(session=session, reference=reference, supervisor="operator:sup-1", now=now)
    assert _payout(rig, payout_id)[:2] == (PayoutState.COMMITTED, None)
    assert _audit(rig, reference)[-2:] == [
        ("operator:ops-1", "decision_proposed"),
        ("operator:sup-1", "paid"),
    ]
    with pytest.raises(review.NotInReview):
        decide(limit=FAMILY_TOTAL)
    _sound(rig)


def test_a_void_up_to_the_limit_needs_one_person_and_releases_the_claims(rig: Rig) -> None:
    payout_id = _stuck_in_review(rig, Fault.TIMEOUT)
    reference = _payout(rig, payout_id)[2]
    with unit_of_work(rig.factory) as session:
        review.resolve(
            session=session,
            reference=reference,
            decision="void",
            reason="The bank confirmed in writing it never received it.",
            evidence="ticket BRI-2211",
            operator="operator:ops-1",
            now=rig.clock(),
            second_signature_above=FAMILY_TOTAL,
        )
    assert _payout(rig, payout_id)[:2] == (PayoutState.VOIDED, "voided_in_review")
    assert _audit(rig, reference)[-1] == ("operator:ops-1", "voided")
    _sound(rig)
    assert _drive(rig, _reserve(rig, key="k2")) == PayoutState.COMMITTED


def test_a_reversal_returns_the_money_with_two_signatures_and_frees_the_entitlements(
    rig: Rig,
) -> None:
    payout_id = _reserve(rig)
    assert _drive(rig, payout_id) == PayoutState.COMMITTED
    reference = _payout(rig, payout_id)[2]
    with unit_of_work(rig.factory) as session:
        proposed = review.resolve(
            session=session,
            reference=reference,
            decision="reverse",
            reason="Paid to the wrong household: the card was someone else's.",
            evidence="case 2026-118",
            operator="operator:ops-1",
            now=rig.clock(),
            second_signature_above=10**12,
        )
        assert proposed.status == "awaiting"
    assert rig.bank.balance(rig.creditor.number) == FAMILY_TOTAL
    with unit_of_work(rig.factory) as session:
        review.approve(
            session=session,
            reference=reference,
            supervisor="operator:sup-1",
            now=rig.clock(),
            adapters={BANK: rig.adapter},
        )
    assert _payout(rig, payout_id)[0] == PayoutState.REVERSED
    assert rig.bank.balance(rig.creditor.number) == 0
    assert _audit(rig, reference)[-1] == ("operator:sup-1", "reversed")
    with unit_of_work(rig.factory) as session:
        assert ledger.audit_ledger(session=session, budgets={"PKH": 10_000_000}) == []
        budget = {b.code: b for b in ledger.balances(session=session)}["budget:PKH"]
        assert budget.available == 10_000_000
    assert _drive(rig, _reserve(rig, key="k2")) == PayoutState.COMMITTED
