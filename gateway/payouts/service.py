"""Phase one of one-stop pay: claim every due line, hold the amounts, queue the bank task.

A payout is a persisted state machine: reserve (here), submit, then commit, void or review
(`gateway.payouts.driver`, `gateway.payouts.outcomes`). Each step is its own transaction,
so a crash between any two leaves a state the recovery worker can finish. The reservation
is idempotent by the terminal's key and refuses lines another live payout already claims.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from adapters.base import (
    AccountRef,
    TransferKind,
)
from gateway.errors import Conflict, GatewayError, InvalidInput, Unavailable
from gateway.payouts import ledger, repository
from gateway.payouts.entitlements import Entitlement, HouseholdFacts, due_entitlements, period_key
from gateway.payouts.models import Payout, PayoutLine
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.programmes import ProgrammeCatalogue, payment_day
from gateway.payouts.states import PayoutState


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
    # Ledger accounts the reservation booked on, by code: once it commits, their ids hold.
    accounts: Mapping[str, int] = field(default_factory=dict)
    # The pending transfers it booked (a fresh reservation's), for the commit to resolve.
    pending: Sequence[ledger.BookedPending] = ()


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
    return Reservation(
        payout,
        rows,
        accounts=booking.accounts,
        pending=ledger.booked_pending(booking, pending_ids),
    )


def payout_lines(*, session: Session, payout_id: int) -> Sequence[PayoutLine]:
    return repository.lines_of(session, payout_id)
