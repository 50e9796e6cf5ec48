"""One-stop pay as a persisted state machine: reserve, submit, then commit, void or review.

Each step is its own transaction, so a crash between any two leaves a state the recovery
worker can finish: `reserved` (submit again: the bank is idempotent by reference),
`submitted` (ask the bank for the reference's status). Only a bank's SETTLED answer within
the reservation's timeout commits; anything untrustworthy goes to `needs_review`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from adapters.base import (
    AccountRef,
    BankAdapter,
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
from gateway.db import unit_of_work
from gateway.errors import Conflict, GatewayError, InvalidInput, Unavailable
from gateway.payouts import ledger, repository
from gateway.payouts.entitlements import Entitlement, HouseholdFacts, due_entitlements, period_key
from gateway.payouts.models import Payout, PayoutLine
from gateway.payouts.programmes import ProgrammeCatalogue, payment_day

Clock = Callable[[], datetime]


class PayoutState(StrEnum):
    RESERVED = "reserved"
    SUBMITTED = "submitted"
    COMMITTED = "committed"
    VOIDED = "voided"
    NEEDS_REVIEW = "needs_review"


FINAL_STATES = frozenset({PayoutState.COMMITTED, PayoutState.VOIDED, PayoutState.NEEDS_REVIEW})


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class NothingDue(GatewayError):
    status = 422
    code = "nothing_due"


class EntitlementAlreadyClaimed(Conflict):
    code = "entitlement_already_claimed"


class TokenAlreadyUsed(Conflict):
    code = "token_already_used"


class NoPayoutAccount(InvalidInput):
    code = "no_payout_account"


class BankNotConfigured(Unavailable):
    code = "bank_not_configured"


@dataclass(frozen=True)
class PayoutPolicy:
    """Timing of the two phases; defaults suit an agent waiting at the counter."""

    # A reservation not settled within this window is voided or sent to review.
    hold: timedelta = timedelta(minutes=10)
    # The request path owns a payout this long before the recovery worker may take it over.
    lease: timedelta = timedelta(seconds=30)
    # How soon an unanswered or pending transfer is asked about again.
    retry_after: timedelta = timedelta(seconds=5)


@dataclass(frozen=True)
class PayoutOrder:
    """Everything the terminal asked for, already authenticated and resolved."""

    terminal_id: str
    idempotency_key: str
    request_hash: str
    token_id: str
    household: HouseholdFacts
    bank_code: str
    channel: TransferKind
    creditor: AccountRef
    # `PROG.component:subject` keys to pay; None pays everything due.
    selection: frozenset[str] | None = None


def request_hash(body: Mapping[str, object]) -> str:
    """Hash of the request's meaning (canonical JSON), to tell a retry from a different order."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def line_key(line: Entitlement | PayoutLine) -> str:
    return f"{line.programme}.{line.component}:{line.subject}"


def find_replay(
    *, session: Session, terminal_id: str, idempotency_key: str, body_hash: str
) -> Payout | None:
    """The earlier payout under this key, if any; a different body under the key is a 409."""
    existing = repository.payout_by_key(
        session, terminal_id=terminal_id, idempotency_key=idempotency_key
    )
    if existing is not None and existing.request_hash != body_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different payout request."
        )
    return existing


def claimed_now(
    *, session: Session, household: HouseholdFacts, catalogue: ProgrammeCatalogue, day: date
) -> tuple[frozenset[tuple[str, str, str, str]], frozenset[tuple[str, str]]]:
    """Claims held by live payouts for this household's subjects, and those in current periods."""
    subjects = [f"household:{household.household_id}"] + [
        f"person:{m.person_id}" for m in household.members
    ]
    claims = repository.claims_for_subjects(session, subjects)
    current: set[tuple[str, str]] = set()
    for programme_code, component, subject, period in claims:
        try:
            programme = catalogue.get(programme_code)
        except KeyError:
            continue
        if period == period_key(programme.period, day):
            current.add((f"{programme_code}.{component}", subject))
    return frozenset(claims), frozenset(current)


def entitlements_due(
    *, session: Session, household: HouseholdFacts, catalogue: ProgrammeCatalogue, day: date
) -> list[Entitlement]:
    claimed, claimed_refs = claimed_now(
        session=session, household=household, catalogue=catalogue, day=day
    )
    return due_entitlements(
        household=household,
        catalogue=catalogue,
        day=day,
        claimed=claimed,
        claimed_refs=claimed_refs,
    )


def new_reference() -> str:
    """A 22-character reference valid on every rail (ISO 20022 Max35Text, SNAP)."""
    return "SP" + secrets.token_hex(10).upper()


@dataclass(frozen=True)
class Reservation:
    """The payout reserved (or found under the same key) and its lines, as a receipt shows."""

    payout: Payout
    lines: Sequence[PayoutLine]
    # False when an earlier payout under the same key was found instead.
    fresh: bool = True


def _replay(session: Session, order: PayoutOrder) -> Reservation | None:
    """The reservation already made under the order's key (409 for another body), if any."""
    payout = find_replay(
        session=session,
        terminal_id=order.terminal_id,
        idempotency_key=order.idempotency_key,
        body_hash=order.request_hash,
    )
    if payout is None:
        return None
    return Reservation(payout, repository.lines_of(session, payout.id), fresh=False)


def reserve(
    *,
    session: Session,
    order: PayoutOrder,
    catalogue: ProgrammeCatalogue,
    now: datetime,
    policy: PayoutPolicy,
    references: Callable[[], str] = new_reference,
    replay_checked: bool = False,
    submit_next: bool = False,
    known_accounts: ledger.KnownAccounts | None = None,
) -> Reservation:
    """Phase one: claim every line, hold the amounts in the ledger, queue the bank task.

    Every write is a set-based statement (payout, claims, one ledger booking, lines, task),
    so the cost does not grow with the number of lines. `references` is injectable so a
    simulation can replay a seed exactly (the simulated bank draws its faults per reference).
    `replay_checked` says the caller already looked for the key in this transaction (a race
    lost after that is still caught by the insert). `submit_next` records the payout as
    submitted at once, for a caller that submits right after the commit (one transaction
    fewer): after a crash in between, the recovery worker asks the bank, hears "not found"
    and submits it again, as for any submit whose answer was lost.
    """
    if not replay_checked and (replay := _replay(session, order)) is not None:
        return replay
    lines = entitlements_due(
        session=session, household=order.household, catalogue=catalogue, day=payment_day(now)
    )
    unknown = (order.selection or frozenset()) - {line_key(line) for line in lines}
    if order.selection is not None:
        lines = [line for line in lines if line_key(line) in order.selection]
    if unknown or not lines:
        # A retry racing its original sees the claims once the original commits: the key,
        # not the emptied entitlements, decides its answer.
        if (replay := _replay(session, order)) is not None:
            return replay
        if unknown:
            raise NothingDue("Some selected entitlements are not due now.", not_due=sorted(unknown))
        raise NothingDue("Nothing is due to this household now.")
    values: dict[str, object] = {
        "reference": references(),
        "terminal_id": order.terminal_id,
        "idempotency_key": order.idempotency_key,
        "request_hash": order.request_hash,
        "token_id": order.token_id,
        "household_id": order.household.household_id,
        "bank_code": order.bank_code,
        "channel": order.channel.value,
        "creditor_bank": order.creditor.bank_code,
        "creditor_account": order.creditor.number,
        "creditor_name": order.creditor.name,
        "amount": sum(line.amount for line in lines),
        "state": (PayoutState.SUBMITTED if submit_next else PayoutState.RESERVED).value,
        "created_at": now,
        "updated_at": now,
        "timeout_at": now + policy.hold,
    }
    payout_id = repository.insert_payout(session, values)
    if payout_id is None:
        if (replay := _replay(session, order)) is not None:
            return replay
        raise TokenAlreadyUsed("This verification token was already spent by another payout.")
    payout = Payout(id=payout_id, **values)
    rows = [
        PayoutLine(
            payout_id=payout_id,
            programme=line.programme,
            component=line.component,
            subject=line.subject,
            period=line.period,
            amount=line.amount,
            reason=line.reason[:300],
        )
        for line in lines
    ]
    if not repository.insert_claims(session, rows):
        raise EntitlementAlreadyClaimed(
            "Another payout is already paying some of these entitlements."
        )
    payable = ledger.payable_account(order.household.household_id)
    booking = ledger.plan(
        session=session,
        moves=[
            ledger.Move(
                "pending",
                ledger.budget_account(line.programme),
                payable,
                line.amount,
                f"reserve {payout.reference} {line_key(line)}",
            )
            for line in lines
        ],
        now=now,
        payout_id=payout_id,
        known=known_accounts,
    )
    pending_ids = ledger.insert(session=session, booking=booking)
    for row, pending_id in zip(rows, pending_ids, strict=True):
        row.pending_transfer_id = pending_id
    repository.add_lines(session, rows)
    repository.add_task(session, payout_id=payout_id, leased_until=now + policy.lease)
    # Last: the budget rows stay locked from here to the commit.
    ledger.settle(session=session, booking=booking)
    return Reservation(payout, rows)


def transfer_request(payout: Payout) -> TransferRequest:
    return TransferRequest(
        reference=payout.reference,
        amount=payout.amount,
        creditor=AccountRef(payout.creditor_bank, payout.creditor_account, payout.creditor_name),
        kind=TransferKind(payout.channel),
        remittance=f"Satu Pintu {payout.reference}",
    )


Outcome = TransferResult | BankAdapterError


def _commit(
    session: Session,
    payout: Payout,
    result: TransferResult,
    now: datetime,
    known_accounts: ledger.KnownAccounts | None,
) -> ledger.Booking:
    """Post the reservations and hand the money on, in one booking (settled by the caller)."""
    destination = (
        ledger.agent_float_account(payout.terminal_id)
        if payout.channel == TransferKind.CASH_OUT.value
        else ledger.settlement_account(payout.bank_code)
    )
    memo = f"commit {payout.reference}"
    booking = ledger.plan(
        session=session,
        moves=[
            *(
                ledger.resolution(pending, post_it=True, memo=memo)
                for pending in repository.unresolved_pending(session, payout.id)
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
    payout.bank_transaction_id = result.bank_reference
    return booking


def _void(
    session: Session, payout: Payout, code: str, reason: str, now: datetime
) -> ledger.Booking:
    """Release the reservations and the claims (the booking is settled by the caller)."""
    memo = f"void {payout.reference}: {code}"
    releases = [
        ledger.resolution(pending, post_it=False, memo=memo)
        for pending in repository.unresolved_pending(session, payout.id)
    ]
    booking = ledger.plan(session=session, moves=releases, now=now, payout_id=payout.id)
    if releases:
        ledger.insert(session=session, booking=booking)
    repository.release_claims(session, payout.id)
    payout.state = PayoutState.VOIDED.value
    payout.failure_code, payout.failure_reason = code, reason
    return booking


def _review(payout: Payout, code: str, reason: str) -> None:
    """Hold the reservation and claims for a human: money may or may not have moved."""
    payout.state = PayoutState.NEEDS_REVIEW.value
    payout.failure_code, payout.failure_reason = code, reason


def apply_outcome(
    *,
    session: Session,
    payout: Payout,
    outcome: Outcome,
    now: datetime,
    policy: PayoutPolicy,
    known_accounts: ledger.KnownAccounts | None = None,
) -> None:
    """Move the payout on from what the bank said (or failed to say). Idempotent."""
    if payout.state in FINAL_STATES:
        return
    late = now > payout.timeout_at
    finished = True
    booking: ledger.Booking | None = None
    if isinstance(outcome, TransferRejected):
        booking = _void(session, payout, outcome.reason_code, outcome.message, now)
    elif isinstance(outcome, ReferenceConflict | BankResponseInvalid):
        _review(payout, outcome.code, outcome.message)
    elif isinstance(outcome, OutcomeUnknown):
        if late:
            _review(payout, "outcome_unknown", "No answer from the bank before the timeout.")
        else:
            finished = False
    elif isinstance(outcome, BankAdapterError):
        _review(payout, outcome.code, outcome.message)
    elif outcome.amount is not None and outcome.amount != payout.amount:
        _review(payout, "amount_mismatch", f"The bank reports Rp {outcome.amount}.")
    elif outcome.state is TransferState.SETTLED:
        if late:
            _review(payout, "late_settlement", "The bank settled after the reservation expired.")
        else:
            booking = _commit(session, payout, outcome, now, known_accounts)
    elif outcome.state is TransferState.REJECTED:
        booking = _void(session, payout, outcome.reason_code or "REJECTED", outcome.reason, now)
    elif outcome.state is TransferState.REVERSED:
        _review(payout, "reversed_at_bank", "The bank reports the transfer as reversed.")
    elif outcome.state is TransferState.NOT_FOUND:
        if late:
            booking = _void(
                session, payout, "timeout", "The bank never received the transfer.", now
            )
        else:
            payout.state = PayoutState.RESERVED.value
            finished = False
    else:
        finished = late
        if late:
            _review(payout, "pending_at_timeout", "The bank still reports the transfer pending.")
    payout.updated_at = now
    if finished:
        repository.delete_task(session, payout.id)
    else:
        repository.upsert_task(session, payout_id=payout.id, leased_until=now + policy.retry_after)
    if booking is not None:
        # Last: the budget rows stay locked from here to the commit.
        session.flush()
        ledger.settle(session=session, booking=booking)


def _adapter_for(adapters: Mapping[str, BankAdapter], payout: Payout) -> BankAdapter:
    adapter = adapters.get(payout.bank_code)
    if adapter is None:
        raise BankNotConfigured(f"No bank adapter is configured for {payout.bank_code}.")
    return adapter


def drive(
    *,
    session_factory: sessionmaker[Session],
    payout_id: int,
    adapters: Mapping[str, BankAdapter],
    clock: Clock,
    policy: PayoutPolicy,
    just_reserved: Payout | None = None,
    known_accounts: ledger.KnownAccounts | None = None,
) -> Payout:
    """Take one payout one step further with the bank: submit when reserved, else ask status.

    `just_reserved` is a payout this caller has just reserved with `submit_next`: it is
    already recorded as submitted, so it goes to the bank without another transaction.
    """
    if just_reserved is not None:
        payout, submit = just_reserved, True
        adapter = _adapter_for(adapters, payout)
    else:
        with unit_of_work(session_factory) as session:
            # Persisted before the call: after a crash we must ask, not assume nothing was sent.
            found = repository.mark_submitted(session, payout_id, now=clock())
            submit = found is not None
            if found is None:
                found = repository.payout_by_id(session, payout_id, for_update=True)
                if found is None or found.state in FINAL_STATES:
                    return _detached(session, payout_id)
            payout = found
            adapter = _adapter_for(adapters, payout)
    request = transfer_request(payout)
    outcome: Outcome
    try:
        outcome = adapter.submit(request) if submit else adapter.status(request.reference)
    except BankAdapterError as exc:
        outcome = exc
    with unit_of_work(session_factory) as session:
        answered = repository.payout_by_id(session, payout_id, for_update=True)
        assert answered is not None
        apply_outcome(
            session=session,
            payout=answered,
            outcome=outcome,
            now=clock(),
            policy=policy,
            known_accounts=known_accounts,
        )
    # Closed after the commit, the session leaves the payout detached with its values loaded.
    return answered


def _detached(session: Session, payout_id: int) -> Payout:
    payout = repository.payout_by_id(session, payout_id)
    assert payout is not None
    session.expunge(payout)
    return payout


def recover(
    *,
    session_factory: sessionmaker[Session],
    adapters: Mapping[str, BankAdapter],
    clock: Clock,
    policy: PayoutPolicy,
    limit: int = 100,
    stopping: Callable[[], bool] = lambda: False,
) -> list[int]:
    """One pass of the recovery worker over payouts whose lease has expired.

    `stopping` is asked before each payout, so shutting down never waits for a whole pass.
    """
    driven: list[int] = []
    with unit_of_work(session_factory) as session:
        due = list(repository.due_task_payout_ids(session, now=clock(), limit=limit))
    for payout_id in due:
        if stopping():
            break
        with unit_of_work(session_factory) as session:
            now = clock()
            if not repository.lease_task(
                session, payout_id=payout_id, now=now, until=now + policy.lease
            ):
                continue
        drive(
            session_factory=session_factory,
            payout_id=payout_id,
            adapters=adapters,
            clock=clock,
            policy=policy,
        )
        driven.append(payout_id)
    return driven


def payout_lines(*, session: Session, payout_id: int) -> Sequence[PayoutLine]:
    return repository.lines_of(session, payout_id)
