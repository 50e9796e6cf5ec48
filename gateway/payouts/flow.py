"""The pay and entitlement flows a terminal drives: token, register facts, ledger, bank.

Pay spans several transactions on purpose (reserve; then the bank; then commit or void), so
it takes the session factory rather than the request's session: each step must be durable
before the next starts, which is what makes a crash at any point recoverable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from adapters.base import AccountRef, TransferKind
from gateway.db import unit_of_work
from gateway.errors import NotFound
from gateway.payouts import banks, receipts, repository
from gateway.payouts.driver import drive
from gateway.payouts.entitlements import Entitlement, HouseholdFacts
from gateway.payouts.models import Payout, PayoutLine
from gateway.payouts.programmes import payment_day
from gateway.payouts.runtime import PayoutRuntime
from gateway.payouts.service import (
    BankNotConfigured,
    NoPayoutAccount,
    PayoutOrder,
    entitlements_due,
    find_replay,
    request_hash,
    reserve,
)
from gateway.terminals.deferred import SignedTerminalRequest, signed_unit_of_work
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.trust import pay_policy
from gateway.verification.tokens import TokenClaims, TokenExpired, TokenUsed, consume_token

IN_FLIGHT = frozenset({"reserved", "submitted"})


@dataclass(frozen=True)
class PayoutView:
    payout: Payout
    lines: Sequence[PayoutLine]
    household_reference: str
    receipt: dict[str, object]
    receipt_text: str


@dataclass(frozen=True)
class EntitlementView:
    household_reference: str
    day: date
    lines: list[Entitlement]


def _household(session: Session, household_id: int, day: date) -> HouseholdFacts:
    facts = repository.household_facts(session, household_id=household_id, day=day)
    if facts is None:
        raise NotFound("The verified person's household is no longer in the register.")
    return facts


def _peek_token(session: Session, token: str, terminal: AuthenticatedTerminal) -> TokenClaims:
    """Every check of spending the token, without spending it (the savepoint is rolled back)."""
    savepoint = session.begin_nested()
    try:
        return consume_token(session=session, token=token, terminal=terminal)
    finally:
        savepoint.rollback()


def entitlements(
    *, runtime: PayoutRuntime, signed: SignedTerminalRequest, token: str
) -> EntitlementView:
    """What the verified person's household is due now, with the reason for each line; the
    terminal is confirmed and its nonce spent in the same transaction."""
    with signed_unit_of_work(runtime.session_factory, signed) as session:
        claims = _peek_token(session, token, signed.terminal)
        day = payment_day(runtime.clock())
        household = _household(session, claims.household_id, day)
        lines = entitlements_due(
            session=session, household=household, catalogue=runtime.catalogue, day=day
        )
    return EntitlementView(claims.household_reference, day, lines)


def _creditor(
    session: Session, channel: TransferKind, terminal: AuthenticatedTerminal, household_id: int
) -> AccountRef:
    owner_kind, owner_id = (
        ("terminal", terminal.id)
        if channel is TransferKind.CASH_OUT
        else ("household", str(household_id))
    )
    account = repository.payout_destination(session, owner_kind=owner_kind, owner_id=owner_id)
    if account is None:
        raise NoPayoutAccount(
            "No payout account is registered for the agent."
            if channel is TransferKind.CASH_OUT
            else "The household has no bank account registered; pay by cash-out instead."
        )
    return AccountRef(account.bank_code, account.number, account.name)


def _make_view(payout: Payout, lines: Sequence[PayoutLine], household_reference: str) -> PayoutView:
    data = receipts.receipt_data(
        payout=payout, lines=lines, household_reference=household_reference
    )
    return PayoutView(payout, lines, household_reference, data, receipts.receipt_text(data))


def view_of(session: Session, payout: Payout) -> PayoutView:
    return _make_view(
        payout,
        repository.lines_of(session, payout.id),
        repository.household_reference(session, payout.household_id),
    )


def pay(
    *,
    runtime: PayoutRuntime,
    signed: SignedTerminalRequest,
    idempotency_key: str,
    token: str,
    channel: TransferKind,
    selection: frozenset[str] | None,
) -> PayoutView:
    """Pay everything due (or the selection) once; a retry with the same key gets the same."""
    terminal = signed.terminal
    body_hash = request_hash(
        {"token": token, "channel": channel.value, "lines": sorted(selection or ())}
    )
    try:
        # The terminal is confirmed and its nonce spent in the reservation's own transaction.
        with signed_unit_of_work(runtime.session_factory, signed) as session:
            if terminal.bank_code not in runtime.adapters:
                raise BankNotConfigured(f"No bank adapter is configured for {terminal.bank_code}.")
            # No look for the key first: a retry finds its token spent (or expired since), and
            # is answered below; a new token under a used key fails the payout's insert.
            claims = consume_token(session=session, token=token, terminal=terminal)
            now = runtime.clock()
            household = _household(session, claims.household_id, payment_day(now))
            pay_policy.check(
                session=session,
                claims=claims,
                terminal=terminal,
                household=household,
                channel=channel,
                catalogue=runtime.catalogue,
                day=payment_day(now),
                now=now,
                anomaly=runtime.anomaly,
            )
            order = PayoutOrder(
                terminal_id=terminal.id,
                idempotency_key=idempotency_key,
                request_hash=body_hash,
                token_id=claims.token_id,
                household=household,
                bank_code=terminal.bank_code,
                channel=channel,
                creditor=_creditor(session, channel, terminal, claims.household_id),
                selection=selection,
            )
            reserved = reserve(
                session=session,
                order=order,
                catalogue=runtime.catalogue,
                now=now,
                policy=runtime.policy,
                replay_checked=True,
                submit_next=True,
                known_accounts=runtime.known_accounts,
                suspended=runtime.suspended,
            )
    except (TokenUsed, TokenExpired):
        # A retry (or a concurrent copy) of a payout made under this key spent the token.
        with unit_of_work(runtime.session_factory) as session:
            replay = find_replay(
                session=session,
                terminal_id=terminal.id,
                idempotency_key=idempotency_key,
                body_hash=body_hash,
            )
            if replay is None:
                raise
            return view_of(session, replay)
    # Committed now: the accounts it created (the household's payable) need no lookup again.
    runtime.known_accounts.remember_committed(reserved.accounts)
    payout = drive(
        session_factory=runtime.session_factory,
        payout_id=reserved.payout.id,
        adapters=runtime.adapters,
        clock=runtime.clock,
        policy=runtime.policy,
        just_reserved=reserved.payout if reserved.fresh else None,
        known_accounts=runtime.known_accounts,
        programmes=[line.programme for line in reserved.lines],
        pending=reserved.pending,
    )
    # Everything the answer shows is in hand: no need to read back what was just written.
    return _make_view(payout, reserved.lines, claims.household_reference)


def payout_for_terminal(
    *, session: Session, terminal: AuthenticatedTerminal, reference: str
) -> PayoutView:
    payout = repository.payout_by_reference(session, reference)
    if payout is None or payout.terminal_id != terminal.id:
        raise NotFound("No payout with this reference was made by this terminal.")
    return view_of(session, payout)


def register_payout_account(
    *,
    runtime: PayoutRuntime,
    session: Session,
    owner_kind: str,
    owner_id: str,
    bank_code: str,
    number: str,
    name: str,
) -> None:
    """Record where money for a household or an agent lands (mirrored into simulated banks)."""
    repository.set_payout_account(
        session,
        owner_kind=owner_kind,
        owner_id=owner_id,
        bank_code=bank_code,
        number=number,
        name=name,
    )
    adapter = runtime.adapters.get(bank_code)
    if adapter is not None:
        banks.mirror_account(adapter, number, name)
