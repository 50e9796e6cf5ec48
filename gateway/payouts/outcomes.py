"""Applying what a bank said (or failed to say) to a payout: commit, void, ask again, review.

Only a definite answer decides: SETTLED commits (late or not: the money moved), a refusal
voids, and "not found" voids once no send can still arrive. An answer that proves nothing
(lost, garbled, pending) is asked again with backoff, for hours, before a person is asked
to decide (`needs_review`, see `gateway.payouts.review`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from adapters.base import (
    AccountRef,
    BankAdapterError,
    BankResponseInvalid,
    OutcomeUnknown,
    ReferenceConflict,
    TransferKind,
    TransferRejected,
    TransferRequest,
    TransferResult,
    TransferState,
)
from gateway.payouts import decisions, ledger, repository
from gateway.payouts.models import Payout
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.states import FINAL_STATES, PayoutState


def transfer_request(payout: Payout) -> TransferRequest:
    """The instruction, expiring with the hold: after it the bank refuses a late arrival."""
    return TransferRequest(
        reference=payout.reference,
        amount=payout.amount,
        creditor=AccountRef(payout.creditor_bank, payout.creditor_account, payout.creditor_name),
        kind=TransferKind(payout.channel),
        remittance=f"Satu Pintu {payout.reference}",
        expires_at=payout.timeout_at,
    )


Outcome = TransferResult | BankAdapterError


@dataclass(frozen=True)
class Asked:
    """One call to the bank and what came of it: when it was made, under which lease epoch,
    and how long a send of this bank may still be on its way."""

    outcome: Outcome
    submitted: bool
    asked_at: datetime
    epoch: int
    window: timedelta
    expiry_honoured: bool


def _unresolved(
    session: Session, payout: Payout, pending: Sequence[ledger.PendingTransfer] | None
) -> Sequence[ledger.PendingTransfer]:
    return pending if pending is not None else repository.unresolved_pending(session, payout.id)


def book_payment(
    session: Session,
    payout: Payout,
    now: datetime,
    memo: str,
    known_accounts: ledger.KnownAccounts | None = None,
    pending: Sequence[ledger.PendingTransfer] | None = None,
) -> ledger.Booking:
    """Post the reservations (`pending` when the caller knows them unresolved, else read) and
    hand the money on, in one booking (settled by the caller)."""
    destination = (
        ledger.agent_float_account(payout.terminal_id)
        if payout.channel == TransferKind.CASH_OUT.value
        else ledger.settlement_account(payout.bank_code)
    )
    booking = ledger.plan(
        session=session,
        moves=[
            *(
                ledger.resolution(reservation, post_it=True, memo=memo)
                for reservation in _unresolved(session, payout, pending)
            ),
            ledger.Move(
                "posted",
                ledger.payable_account(payout.household_id),
                destination,
                payout.amount,
                f"paid {payout.reference}",
            ),
        ],
        now=now,
        payout_id=payout.id,
        known=known_accounts,
    )
    ledger.insert(session=session, booking=booking)
    payout.state = PayoutState.COMMITTED.value
    return booking


def release(
    session: Session,
    payout: Payout,
    code: str,
    reason: str,
    now: datetime,
    pending: Sequence[ledger.PendingTransfer] | None = None,
) -> ledger.Booking:
    """Release the reservations (`pending` when the caller knows them unresolved, else read)
    and the claims (the booking is settled by the caller)."""
    memo = f"void {payout.reference}: {code}"
    releases = [
        ledger.resolution(reservation, post_it=False, memo=memo)
        for reservation in _unresolved(session, payout, pending)
    ]
    booking = ledger.plan(session=session, moves=releases, now=now, payout_id=payout.id)
    if releases:
        ledger.insert(session=session, booking=booking)
    repository.release_claims(session, payout.id)
    payout.state = PayoutState.VOIDED.value
    payout.failure_code, payout.failure_reason = code, reason
    return booking


def hold_for_review(
    session: Session,
    payout: Payout,
    code: str,
    reason: str,
    programmes: Sequence[str] | None = None,
) -> None:
    """Hold the reservation and claims for a person: money may or may not have moved."""
    payout.state = PayoutState.NEEDS_REVIEW.value
    payout.failure_code, payout.failure_reason = code, reason
    decisions.record(
        session,
        payout,
        "review",
        detail={"code": code, "reason": reason},
        programmes=programmes,
    )


def _absence_proven(payout: Payout, asked: Asked) -> bool:
    """Whether the bank's "not found" proves that no send of this payout can still be paid.

    It does when asked after every send had run out its longest call, or after the
    instruction expired at a bank that refuses expired instructions.
    """
    sent = payout.sent_at or payout.created_at
    if asked.asked_at >= sent + asked.window:
        return True
    return asked.expiry_honoured and asked.asked_at > payout.timeout_at


def apply_outcome(
    *,
    session: Session,
    payout: Payout,
    asked: Asked,
    now: datetime,
    policy: PayoutPolicy,
    known_accounts: ledger.KnownAccounts | None = None,
    programmes: Sequence[str] | None = None,
    pending: Sequence[ledger.PendingTransfer] | None = None,
) -> None:
    """Move the payout on from what the bank said (or failed to say). Idempotent.

    Only a definite answer decides: SETTLED commits (late or not: the money moved), a refusal
    voids, and "not found" voids once the hold has passed and no send can still arrive.
    Anything else is asked again with backoff until `policy.query_deadline`, then reviewed.
    `programmes` are the payout's, when the caller holds its lines (the audit entry names them);
    `pending`, its unresolved reservations, when the caller knows them (else they are read).
    """
    if payout.state in FINAL_STATES:
        return
    payout.updated_at = now

    def note(decision: str, detail: dict[str, object]) -> None:
        decisions.record(session, payout, decision, detail=detail, programmes=programmes)

    def review(code: str, reason: str) -> None:
        hold_for_review(session, payout, code, reason, programmes)

    # The payout's row is written once, when the transaction flushes: nothing read here
    # depends on its unflushed changes (lines, transfers and claims are other rows).
    with session.no_autoflush:
        outcome = asked.outcome
        late = now > payout.timeout_at
        booking: ledger.Booking | None = None
        # What keeps the payout open, should the deadline come: (code, reason).
        keep_open: tuple[str, str] | None = None
        if isinstance(outcome, TransferRejected):
            booking = release(session, payout, outcome.reason_code, outcome.message, now, pending)
            note("refused", {"reason_code": outcome.reason_code})
        elif isinstance(outcome, ReferenceConflict):
            review(outcome.code, outcome.message)
        elif isinstance(outcome, BankResponseInvalid | OutcomeUnknown):
            # Garbled or missing: repeating a status query is harmless, so ask again.
            payout.state = PayoutState.SUBMITTED.value
            keep_open = (outcome.code, outcome.message)
        elif isinstance(outcome, BankAdapterError):
            review(outcome.code, outcome.message)
        elif outcome.amount is not None and outcome.amount != payout.amount:
            keep_open = ("amount_mismatch", f"The bank reports Rp {outcome.amount}.")
        elif outcome.state is TransferState.SETTLED:
            booking = book_payment(
                session, payout, now, f"commit {payout.reference}", known_accounts, pending
            )
            payout.bank_transaction_id = outcome.bank_reference
            payout.failure_code = payout.failure_reason = None
            note("paid", {"bank_reference": outcome.bank_reference, "after_hold": late})
        elif outcome.state is TransferState.REJECTED:
            code = outcome.reason_code or "REJECTED"
            booking = release(session, payout, code, outcome.reason, now, pending)
            note("refused", {"reason_code": code})
        elif outcome.state is TransferState.REVERSED:
            review("reversed_at_bank", "The bank reports the transfer as reversed.")
        elif outcome.state is TransferState.NOT_FOUND:
            if not late:
                payout.state = PayoutState.RESERVED.value
                keep_open = ("not_found", "Not at the bank yet: submitted again.")
            elif _absence_proven(payout, asked):
                booking = release(
                    session,
                    payout,
                    "timeout",
                    "The bank never received the transfer.",
                    now,
                    pending,
                )
                note(
                    "voided",
                    {
                        "code": "timeout",
                        "proof": "status not_found",
                        "asked_at": str(asked.asked_at),
                    },
                )
            else:
                keep_open = (
                    "not_found_in_flight",
                    "Not found while a send may still reach the bank.",
                )
        else:
            keep_open = ("pending_at_bank", "The bank still reports the transfer pending.")
        if keep_open is not None and now >= payout.created_at + policy.query_deadline:
            review(*keep_open)
            keep_open = None
        if keep_open is None:
            repository.delete_task(session, payout.id)
        else:
            repository.upsert_task(session, payout_id=payout.id, now=now, delay=policy.backoff)
    if booking is not None:
        # Last: the budget rows stay locked from here to the commit.
        session.flush()
        ledger.settle(session=session, booking=booking)
