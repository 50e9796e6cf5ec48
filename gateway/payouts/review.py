"""Payouts in review: what reconciliation can prove on its own, and what people decide.

A payout reaches review only when the bank gave no definite answer for hours (or answered
something only a person can judge: a reference used for other terms, a reversal). Two ways
out, both a ledger booking plus an audit entry:
- proof from the bank: its statement shows the payout paid with our amount and reference
  (commit), or the statement of the following business day does not show it and the bank's
  status says not found (void, claims released) — `resolve_from_statement`;
- a person: an ops operator commits or voids with a reason and the evidence it rests on;
  above the second-signature amount a supervisor (another person) must approve it first.
A statement payment for a payout already voided is the critical case: it is booked, the
entitlements are claimed again so the next visit does not pay them twice, and it is counted
(`satupintu_payouts_paid_after_void`) and alerted on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from adapters.base import (
    BankAdapter,
    BankAdapterError,
    EntryDirection,
    Statement,
    StatementEntry,
    TransferState,
)
from gateway.audit.models import AuditEntry
from gateway.audit.service import entries_about
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.payouts import decisions, ledger, repository
from gateway.payouts.models import Payout, PayoutLateAnswer, PayoutLine, PayoutResolution
from gateway.payouts.monitoring import PAID_AFTER_VOID
from gateway.payouts.outcomes import book_payment, release
from gateway.payouts.policy import send_window
from gateway.payouts.programmes import PAYMENT_ZONE
from gateway.payouts.service import line_key
from gateway.payouts.states import PayoutState

Decision = Literal["commit", "void", "reverse"]
RECONCILIATION = "system:reconciliation"
# Status queries reconciliation makes per payout before leaving it for the next run, and
# how many payouts in a row may go unanswered before it stops asking a bank that is down.
STATUS_ATTEMPTS = 8
SILENT_IN_A_ROW = 10


class NotInReview(Conflict):
    code = "payout_not_in_review"


class SecondSignatureRequired(Forbidden):
    code = "second_signature_required"


class NothingToApprove(Conflict):
    code = "nothing_to_approve"


class ReversalFailed(Conflict):
    code = "reversal_failed"


def reversal_reference(reference: str) -> str:
    """The return's own reference, fixed per payout so a retried approval is the same return."""
    return f"{reference}R"


def next_business_day(day: date) -> date:
    """The next Monday-to-Friday day (bank holidays are the bank's statement's business)."""
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following


def bank_day(at: datetime) -> date:
    return at.astimezone(PAYMENT_ZONE).date()


# -- what reconciliation proves -----------------------------------------------------------


@dataclass
class Resolutions:
    """What one statement settled on its own, by payout reference."""

    committed: list[str] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    paid_after_void: list[str] = field(default_factory=list)


def _payments(statement: Statement) -> dict[str, StatementEntry]:
    """The statement's outgoing payments by our reference (returns and credits aside)."""
    return {
        e.reference: e
        for e in statement.entries
        if e.direction is EntryDirection.DEBIT and e.reversal_of is None
    }


def resolve_from_statement(
    *,
    session: Session,
    adapter: BankAdapter,
    statement: Statement,
    statements: Callable[[date], Statement | None],
    now: datetime,
) -> Resolutions:
    """Settle every payout in review (and every voided one paid anyway) that `statement`
    and the bank's own status prove; `statements(day)` fetches another day's statement (None
    when the bank does not deliver it)."""
    done = Resolutions()
    silent = 0
    payments = _payments(statement)
    cite: dict[str, object] = {
        "statement": statement.statement_id,
        "statement_day": statement.day.isoformat(),
    }
    for payout in repository.payouts_in_review(session, bank_code=adapter.bank_code):
        entry = payments.get(payout.reference)
        if entry is not None:
            if entry.amount == payout.amount:
                _commit(session, payout, entry, now, actor=RECONCILIATION, detail=cite)
                done.committed.append(payout.reference)
            continue
        created = bank_day(payout.created_at)
        if statement.day < next_business_day(created):
            continue
        earlier = statements(created)
        if earlier is None or payout.reference in _payments(earlier):
            continue
        if silent >= SILENT_IN_A_ROW:
            continue
        absent = _bank_says_absent(adapter, payout, now)
        silent = silent + 1 if absent is None else 0
        if absent:
            evidence = {**cite, "status": TransferState.NOT_FOUND.value}
            booking = release(
                session, payout, "not_at_bank", "Absent from the statements; bank: not found.", now
            )
            decisions.record(session, payout, "voided", actor=RECONCILIATION, detail=evidence)
            session.flush()
            ledger.settle(session=session, booking=booking)
            done.voided.append(payout.reference)
    for reference, entry in payments.items():
        voided = repository.payout_by_reference(session, reference)
        if voided is not None and voided.state == PayoutState.VOIDED.value:
            _book_paid_after_void(session, voided, entry, now, cite)
            done.paid_after_void.append(reference)
    return done


def _bank_says_absent(adapter: BankAdapter, payout: Payout, now: datetime) -> bool | None:
    """Whether a status query now answers "not found", long after any send could still
    arrive; None when the bank gave no usable answer in `STATUS_ATTEMPTS` tries (a lost or
    garbled answer is harmless to ask again)."""
    sent = payout.sent_at or payout.created_at
    if now < sent + send_window(adapter):
        return False
    for _ in range(STATUS_ATTEMPTS):
        try:
            result = adapter.status(payout.reference, expected_amount=payout.amount)
        except BankAdapterError:
            continue
        return result.state is TransferState.NOT_FOUND
    return None


def _commit(
    session: Session,
    payout: Payout,
    entry: StatementEntry,
    now: datetime,
    *,
    actor: str,
    detail: dict[str, object],
) -> None:
    booking = book_payment(session, payout, now, f"commit {payout.reference} (review)")
    payout.bank_transaction_id = entry.bank_reference or payout.bank_transaction_id
    payout.updated_at = now
    decisions.record(
        session,
        payout,
        "paid",
        actor=actor,
        detail={**detail, "bank_reference": entry.bank_reference, "was": payout.failure_code},
    )
    payout.failure_code = payout.failure_reason = None
    session.flush()
    ledger.settle(session=session, booking=booking)


def _book_paid_after_void(
    session: Session,
    payout: Payout,
    entry: StatementEntry,
    now: datetime,
    cite: dict[str, object],
) -> None:
    """The bank paid a payout the gateway had voided: book it as spent and claim its
    entitlements again, so the household is not paid them a second time."""
    lines = repository.lines_of(session, payout.id)
    reclaimed = repository.insert_claims(session, list(lines))
    moves = [
        ledger.Move(
            "posted",
            ledger.budget_account(line.programme),
            ledger.payable_account(payout.household_id),
            line.amount,
            f"paid after void {payout.reference} {line_key(line)}",
        )
        for line in lines
    ]
    destination = ledger.settlement_account(payout.bank_code)
    moves.append(
        ledger.Move(
            "posted",
            ledger.payable_account(payout.household_id),
            destination,
            payout.amount,
            f"paid {payout.reference}",
        )
    )
    try:
        with session.begin_nested():
            ledger.book(session=session, moves=moves, now=now, payout_id=payout.id)
        overspent = False
    except ledger.BudgetExhausted:
        # Paid is paid: what the budget cannot cover is drawn from the treasury, visibly.
        treasury = [
            ledger.Move("posted", ledger.FUNDING_ACCOUNT, m.credit, m.amount, f"overspend {m.memo}")
            if m.debit != ledger.payable_account(payout.household_id)
            else m
            for m in moves
        ]
        ledger.book(session=session, moves=treasury, now=now, payout_id=payout.id)
        overspent = True
    payout.state = PayoutState.COMMITTED.value
    payout.failure_code = PAID_AFTER_VOID
    payout.failure_reason = (
        f"Statement {entry.bank_reference or cite['statement']} shows it paid after it was voided."
    )
    payout.bank_transaction_id = entry.bank_reference or None
    payout.updated_at = now
    decisions.record(
        session,
        payout,
        PAID_AFTER_VOID,
        actor=RECONCILIATION,
        detail={
            **cite,
            "bank_reference": entry.bank_reference,
            "severity": "critical",
            "entitlements_reclaimed": reclaimed,
            "budget_overspent": overspent,
        },
    )


# -- what people decide -----------------------------------------------------------------


@dataclass(frozen=True)
class ReviewCase:
    """Everything a person needs to decide one payout."""

    payout: Payout
    lines: Sequence[PayoutLine]
    late_answers: Sequence[PayoutLateAnswer]
    resolutions: Sequence[PayoutResolution]
    history: Sequence[AuditEntry]


def in_review(*, session: Session, bank_code: str | None = None) -> Sequence[Payout]:
    return repository.payouts_in_review(session, bank_code=bank_code)


def _payout(session: Session, reference: str, *, for_update: bool = False) -> Payout:
    payout = repository.payout_by_reference(session, reference)
    if payout is None:
        raise NotFound(f"No payout has the reference {reference}.")
    if for_update:
        locked = repository.payout_by_id(session, payout.id, for_update=True)
        assert locked is not None
        return locked
    return payout


def case(*, session: Session, reference: str) -> ReviewCase:
    payout = _payout(session, reference)
    return ReviewCase(
        payout=payout,
        lines=repository.lines_of(session, payout.id),
        late_answers=repository.late_answers_of(session, payout.id),
        resolutions=repository.resolutions_of(session, payout.id),
        history=entries_about(session=session, subject=f"payout:{reference}"),
    )


def _apply(
    session: Session,
    payout: Payout,
    resolution: PayoutResolution,
    actor: str,
    now: datetime,
    adapter: BankAdapter | None,
) -> None:
    detail: dict[str, object] = {
        "reason": resolution.reason,
        "evidence": resolution.evidence,
        "proposed_by": resolution.proposed_by,
        "approved_by": resolution.approved_by,
    }
    if resolution.decision == "reverse":
        if adapter is None:
            raise ReversalFailed(f"No bank adapter is configured for {payout.bank_code}.")
        booking = _reverse(session, payout, adapter, resolution.reason, now)
        detail["return_reference"] = reversal_reference(payout.reference)
        decisions.record(session, payout, "reversed", actor=actor, detail=detail)
    elif resolution.decision == "commit":
        booking = book_payment(session, payout, now, f"commit {payout.reference} (decided)")
        payout.bank_transaction_id = resolution.evidence[:64]
        payout.failure_code = payout.failure_reason = None
        decisions.record(session, payout, "paid", actor=actor, detail=detail)
    else:
        booking = release(session, payout, "voided_in_review", resolution.reason, now)
        decisions.record(session, payout, "voided", actor=actor, detail=detail)
    payout.updated_at = now
    resolution.status = "applied"
    session.flush()
    ledger.settle(session=session, booking=booking)


def _reverse(
    session: Session, payout: Payout, adapter: BankAdapter, reason: str, now: datetime
) -> ledger.Booking:
    """Return a paid payout's money through the bank, then book it back to the budgets and
    release its entitlements (they are due again)."""
    try:
        result = adapter.reverse(
            payout.reference,
            reversal_reference=reversal_reference(payout.reference),
            reason=reason[:140],
        )
    except BankAdapterError as exc:
        raise ReversalFailed(f"The bank did not return {payout.reference}: {exc}") from exc
    if result.state is not TransferState.SETTLED:
        raise ReversalFailed(
            f"The bank reports the return of {payout.reference} {result.state.value}; "
            "approve again once it settles."
        )
    payable = ledger.payable_account(payout.household_id)
    source = (
        ledger.agent_float_account(payout.terminal_id)
        if payout.channel == "cash_out"
        else ledger.settlement_account(payout.bank_code)
    )
    moves = [ledger.Move("posted", source, payable, payout.amount, f"returned {payout.reference}")]
    moves += [
        ledger.Move(
            "posted",
            payable,
            ledger.budget_account(line.programme),
            line.amount,
            f"returned {payout.reference} {line_key(line)}",
        )
        for line in repository.lines_of(session, payout.id)
    ]
    booking = ledger.plan(session=session, moves=moves, now=now, payout_id=payout.id)
    ledger.insert(session=session, booking=booking)
    repository.release_claims(session, payout.id)
    payout.state = PayoutState.REVERSED.value
    return booking


def resolve(
    *,
    session: Session,
    reference: str,
    decision: Decision,
    reason: str,
    evidence: str,
    operator: str,
    now: datetime,
    second_signature_above: int,
) -> PayoutResolution:
    """An ops operator's decision: applied at once up to the second-signature amount,
    otherwise recorded to wait for a supervisor's approval. Audited either way. Taking paid
    money back (`reverse`, on a committed payout) always waits for a second signature."""
    payout = _payout(session, reference, for_update=True)
    wanted = PayoutState.COMMITTED if decision == "reverse" else PayoutState.NEEDS_REVIEW
    if payout.state != wanted.value:
        raise NotInReview(f"Payout {reference} is {payout.state}, not {wanted.value}.")
    if repository.open_resolution(session, payout.id) is not None:
        raise Conflict(f"A decision on {reference} already waits for a second signature.")
    resolution = PayoutResolution(
        payout_id=payout.id,
        decision=decision,
        reason=reason,
        evidence=evidence,
        proposed_by=operator,
        proposed_at=now,
        status="awaiting",
    )
    repository.add_resolution(session, resolution)
    if decision == "reverse" or payout.amount > second_signature_above:
        decisions.record(
            session,
            payout,
            "decision_proposed",
            actor=operator,
            detail={"proposed": decision, "reason": reason, "evidence": evidence},
        )
        return resolution
    _apply(session, payout, resolution, operator, now, adapter=None)
    return resolution


def approve(
    *,
    session: Session,
    reference: str,
    supervisor: str,
    now: datetime,
    adapters: Mapping[str, BankAdapter] | None = None,
) -> PayoutResolution:
    """A supervisor's second signature on a waiting decision; never the proposer's own.
    A reversal goes through the payout's bank among `adapters`."""
    payout = _payout(session, reference, for_update=True)
    resolution = repository.open_resolution(session, payout.id)
    if resolution is None:
        raise NothingToApprove(f"No decision on {reference} waits for a second signature.")
    if resolution.proposed_by == supervisor:
        raise SecondSignatureRequired("The second signature must come from another person.")
    resolution.approved_by, resolution.approved_at = supervisor, now
    _apply(session, payout, resolution, supervisor, now, (adapters or {}).get(payout.bank_code))
    return resolution
