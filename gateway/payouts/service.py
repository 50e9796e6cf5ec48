"""One-stop pay as a persisted state machine: reserve, submit, then commit, void or review.

Each step is its own transaction, so a crash between any two leaves a state the recovery
worker can finish: `reserved` (submit again: the bank is idempotent by reference),
`submitted` (ask the bank for the reference's status). A bank's SETTLED answer commits and
its definite refusal voids; an answer that proves nothing (lost, garbled, pending, a "not
found" that a send still in flight could contradict) is asked again with backoff, for hours,
before a person is asked to decide (`needs_review`, see `gateway.payouts.review`).

Workers are fenced: every lease raises the task's epoch, and an answer is applied only under
the epoch that asked; one coming back to a worker that lost its lease is kept, not applied.
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
from gateway.payouts import decisions, ledger, repository
from gateway.payouts.entitlements import Entitlement, HouseholdFacts, due_entitlements, period_key
from gateway.payouts.models import Payout, PayoutLateAnswer, PayoutLine
from gateway.payouts.programmes import ProgrammeCatalogue, payment_day

Clock = Callable[[], datetime]


class PayoutState(StrEnum):
    RESERVED = "reserved"
    SUBMITTED = "submitted"
    COMMITTED = "committed"
    VOIDED = "voided"
    NEEDS_REVIEW = "needs_review"
    # Paid, then returned by the bank on a supervisor-approved reversal.
    REVERSED = "reversed"


FINAL_STATES = frozenset(
    {PayoutState.COMMITTED, PayoutState.VOIDED, PayoutState.NEEDS_REVIEW, PayoutState.REVERSED}
)


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


class ProgrammeSuspended(Conflict):
    code = "programme_suspended"


class LeaseTooShort(ValueError):
    """The payout lease would end before a bank call can: two workers could send at once."""


@dataclass(frozen=True)
class PayoutPolicy:
    """Timing of the two phases; defaults suit an agent waiting at the counter."""

    # A reservation the bank has not taken within this window is voided once that is
    # provably safe (the transfer also expires at the bank then, where the rail allows).
    hold: timedelta = timedelta(minutes=10)
    # The request path owns a payout this long before the recovery worker may take it over.
    lease: timedelta = timedelta(seconds=30)
    # How soon an unanswered or pending transfer is asked about first; doubled each time.
    retry_after: timedelta = timedelta(seconds=5)
    # The longest wait between two status queries of one payout.
    max_backoff: timedelta = timedelta(minutes=10)
    # Banks settle late and status services fail for a while: a payout is asked about for
    # this long after its reservation before a person is asked to decide.
    query_deadline: timedelta = timedelta(hours=6)

    def backoff(self, attempts: int) -> timedelta:
        return min(self.max_backoff, self.retry_after * 2 ** min(attempts, 20))


# Headroom over an adapter's longest call: scheduling, the database, clock drift.
CALL_MARGIN = timedelta(seconds=2)


def send_window(adapter: BankAdapter) -> timedelta:
    """How long a send may still reach the bank after it began, margin included."""
    return timedelta(seconds=adapter.longest_call_s) * 1.1 + CALL_MARGIN


def check_lease(lease: timedelta, adapters: Mapping[str, BankAdapter]) -> None:
    """Refuse a lease that a bank call could outlast: the worker would still be sending when
    another took the payout over."""
    for code, adapter in sorted(adapters.items()):
        needed = send_window(adapter)
        if lease < needed:
            raise LeaseTooShort(
                f"payout lease {lease.total_seconds():g} s is shorter than the longest call of "
                f"bank {code} ({adapter.longest_call_s:g} s, plus margin: "
                f"{needed.total_seconds():g} s); raise SATUPINTU_PAYOUT_LEASE_SECONDS or "
                "lower the adapter's attempts or timeout"
            )


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
    suspended: Mapping[str, str] | None = None,
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
    stopped = sorted({line.programme for line in lines} & set(suspended or ()))
    if stopped:
        raise ProgrammeSuspended(
            "; ".join(f"{code}: {(suspended or {})[code]}" for code in stopped),
            programmes=stopped,
        )
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
        "sent_at": now if submit_next else None,
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


def book_payment(
    session: Session,
    payout: Payout,
    now: datetime,
    memo: str,
    known_accounts: ledger.KnownAccounts | None = None,
) -> ledger.Booking:
    """Post the reservations and hand the money on, in one booking (settled by the caller)."""
    destination = (
        ledger.agent_float_account(payout.terminal_id)
        if payout.channel == TransferKind.CASH_OUT.value
        else ledger.settlement_account(payout.bank_code)
    )
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
    return booking


def release(
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


def _review(session: Session, payout: Payout, code: str, reason: str) -> None:
    """Hold the reservation and claims for a person: money may or may not have moved."""
    payout.state = PayoutState.NEEDS_REVIEW.value
    payout.failure_code, payout.failure_reason = code, reason
    decisions.record(session, payout, "review", detail={"code": code, "reason": reason})


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
) -> None:
    """Move the payout on from what the bank said (or failed to say). Idempotent.

    Only a definite answer decides: SETTLED commits (late or not: the money moved), a refusal
    voids, and "not found" voids once the hold has passed and no send can still arrive.
    Anything else is asked again with backoff until `policy.query_deadline`, then reviewed.
    """
    if payout.state in FINAL_STATES:
        return
    outcome = asked.outcome
    late = now > payout.timeout_at
    booking: ledger.Booking | None = None
    # What keeps the payout open, should the deadline come: (code, reason).
    pending: tuple[str, str] | None = None
    if isinstance(outcome, TransferRejected):
        booking = release(session, payout, outcome.reason_code, outcome.message, now)
        decisions.record(session, payout, "refused", detail={"reason_code": outcome.reason_code})
    elif isinstance(outcome, ReferenceConflict):
        _review(session, payout, outcome.code, outcome.message)
    elif isinstance(outcome, BankResponseInvalid | OutcomeUnknown):
        # Garbled or missing: repeating a status query is harmless, so ask again.
        payout.state = PayoutState.SUBMITTED.value
        pending = (outcome.code, outcome.message)
    elif isinstance(outcome, BankAdapterError):
        _review(session, payout, outcome.code, outcome.message)
    elif outcome.amount is not None and outcome.amount != payout.amount:
        pending = ("amount_mismatch", f"The bank reports Rp {outcome.amount}.")
    elif outcome.state is TransferState.SETTLED:
        booking = book_payment(session, payout, now, f"commit {payout.reference}", known_accounts)
        payout.bank_transaction_id = outcome.bank_reference
        payout.failure_code = payout.failure_reason = None
        decisions.record(
            session,
            payout,
            "paid",
            detail={"bank_reference": outcome.bank_reference, "after_hold": late},
        )
    elif outcome.state is TransferState.REJECTED:
        code = outcome.reason_code or "REJECTED"
        booking = release(session, payout, code, outcome.reason, now)
        decisions.record(session, payout, "refused", detail={"reason_code": code})
    elif outcome.state is TransferState.REVERSED:
        _review(session, payout, "reversed_at_bank", "The bank reports the transfer as reversed.")
    elif outcome.state is TransferState.NOT_FOUND:
        if not late:
            payout.state = PayoutState.RESERVED.value
            pending = ("not_found", "Not at the bank yet: submitted again.")
        elif _absence_proven(payout, asked):
            booking = release(
                session, payout, "timeout", "The bank never received the transfer.", now
            )
            decisions.record(
                session,
                payout,
                "voided",
                detail={
                    "code": "timeout",
                    "proof": "status not_found",
                    "asked_at": str(asked.asked_at),
                },
            )
        else:
            pending = ("not_found_in_flight", "Not found while a send may still reach the bank.")
    else:
        pending = ("pending_at_bank", "The bank still reports the transfer pending.")
    payout.updated_at = now
    if pending is not None and now >= payout.created_at + policy.query_deadline:
        _review(session, payout, *pending)
        pending = None
    if pending is None:
        repository.delete_task(session, payout.id)
    else:
        repository.upsert_task(session, payout_id=payout.id, now=now, delay=policy.backoff)
    if booking is not None:
        # Last: the budget rows stay locked from here to the commit.
        session.flush()
        ledger.settle(session=session, booking=booking)


def _adapter_for(adapters: Mapping[str, BankAdapter], payout: Payout) -> BankAdapter:
    adapter = adapters.get(payout.bank_code)
    if adapter is None:
        raise BankNotConfigured(f"No bank adapter is configured for {payout.bank_code}.")
    return adapter


def _late_answer(payout_id: int, epoch: int, outcome: Outcome, now: datetime) -> PayoutLateAnswer:
    if isinstance(outcome, BankAdapterError):
        return PayoutLateAnswer(
            payout_id=payout_id,
            epoch=epoch,
            received_at=now,
            answer=outcome.code,
            detail=outcome.message[:2000],
        )
    return PayoutLateAnswer(
        payout_id=payout_id,
        epoch=epoch,
        received_at=now,
        answer=outcome.state.value,
        amount=outcome.amount,
        bank_reference=outcome.bank_reference,
        detail=outcome.reason[:2000],
    )


def drive(
    *,
    session_factory: sessionmaker[Session],
    payout_id: int,
    adapters: Mapping[str, BankAdapter],
    clock: Clock,
    policy: PayoutPolicy,
    just_reserved: Payout | None = None,
    known_accounts: ledger.KnownAccounts | None = None,
    epoch: int | None = None,
) -> Payout:
    """Take one payout one step further with the bank: submit when reserved, else ask status.

    `just_reserved` is a payout this caller has just reserved with `submit_next`: it is
    already recorded as submitted under the first epoch, so it goes to the bank without
    another transaction. `epoch` is the lease the caller holds (the recovery worker's); the
    send is recorded under it in the transaction that checks it still holds, and the answer
    is applied only if it still holds then.
    """
    if just_reserved is not None:
        payout, submit, epoch = just_reserved, True, repository.FIRST_EPOCH
        adapter = _adapter_for(adapters, payout)
    else:
        with unit_of_work(session_factory) as session:
            found = repository.payout_by_id(session, payout_id, for_update=True)
            current = repository.task_epoch(session, payout_id) if found is not None else None
            if found is None or current is None or (epoch is not None and current != epoch):
                # Finished, or leased by another worker since: this one must not send.
                return _detached(session, payout_id)
            epoch = current
            adapter = _adapter_for(adapters, found)
            # Persisted before the call: after a crash we must ask, not assume nothing was sent.
            marked = repository.mark_submitted(session, payout_id, now=clock())
            submit = marked is not None
            payout = marked or found
    request = transfer_request(payout)
    asked_at = clock()
    outcome: Outcome
    try:
        outcome = (
            adapter.submit(request)
            if submit
            else adapter.status(request.reference, expected_amount=payout.amount)
        )
    except BankAdapterError as exc:
        outcome = exc
    with unit_of_work(session_factory) as session:
        answered = repository.payout_by_id(session, payout_id, for_update=True)
        assert answered is not None
        now = clock()
        if repository.task_epoch(session, payout_id) != epoch:
            # Another worker holds the payout now: its own questions decide, this answer
            # is kept for reconciliation and review.
            repository.add_late_answer(session, _late_answer(payout_id, epoch, outcome, now))
        else:
            apply_outcome(
                session=session,
                payout=answered,
                asked=Asked(
                    outcome,
                    submit,
                    asked_at,
                    epoch,
                    send_window(adapter),
                    adapter.honours_expiry,
                ),
                now=now,
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
            epoch = repository.lease_task(
                session, payout_id=payout_id, now=now, until=now + policy.lease
            )
        if epoch is None:
            continue
        drive(
            session_factory=session_factory,
            payout_id=payout_id,
            adapters=adapters,
            clock=clock,
            policy=policy,
            epoch=epoch,
        )
        driven.append(payout_id)
    return driven


def payout_lines(*, session: Session, payout_id: int) -> Sequence[PayoutLine]:
    return repository.lines_of(session, payout_id)
