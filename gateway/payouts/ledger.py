"""Double-entry ledger: every movement debits one account and credits another, immutably."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.errors import Conflict
from gateway.payouts import repository

FUNDING_ACCOUNT = "funding:treasury"


class BudgetExhausted(Conflict):
    code = "budget_exhausted"


class PendingTransfer(Protocol):
    """What resolving a reservation needs: a `LedgerTransfer` row or a lighter read of one.

    Each pending transfer is resolved at most once: `ledger_transfers.pending_id` is unique."""

    @property
    def id(self) -> int: ...
    @property
    def debit_account_id(self) -> int: ...
    @property
    def credit_account_id(self) -> int: ...
    @property
    def amount(self) -> int: ...


@dataclass(frozen=True)
class BookedPending:
    """A pending transfer as the transaction that booked it knows it: no reading back."""

    id: int
    debit_account_id: int
    credit_account_id: int
    amount: int


def budget_account(programme: str) -> str:
    return f"budget:{programme}"


def payable_account(household_id: int) -> str:
    return f"payable:household:{household_id}"


def settlement_account(bank_code: str) -> str:
    return f"settlement:{bank_code}"


def agent_float_account(terminal_id: str) -> str:
    return f"float:agent:{terminal_id}"


# `Session.info` key: codes of the accounts this transaction created (not yet committed).
_CREATED_HERE = "ledger_accounts_created"


class KnownAccounts:
    """Account ids by code that a process has seen committed.

    An account is never renamed or deleted, so once one is committed its id holds for good,
    and the lookup a payout makes for its budget, the agent's float and a household paid
    before can be answered from memory: one statement fewer in each of a payout's two
    transactions. Ids of accounts created by a transaction still open are never remembered
    (it may roll back). Keep one per process and database, as the payout runtime does.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self._ids: dict[str, int] = {}
        # Every household has an account of its own: a payout day would otherwise keep
        # millions. Past the limit the older half is forgotten (read again when next used).
        self._limit = limit

    def lookup(self, codes: Iterable[str]) -> dict[str, int]:
        return {code: self._ids[code] for code in codes if code in self._ids}

    def remember_committed(self, accounts: Mapping[str, int]) -> None:
        """Ids of accounts a transaction that has since committed read or created."""
        self._keep(accounts)

    def remember(self, session: Session, found: dict[str, int]) -> None:
        """Ids read in `session`: those it created itself are left to a later reading."""
        created_here = session.info.get(_CREATED_HERE, ())
        self._keep({c: i for c, i in found.items() if c not in created_here})

    def _keep(self, accounts: Mapping[str, int]) -> None:
        self._ids.update(accounts)
        if len(self._ids) > self._limit:
            kept = list(self._ids.items())[len(self._ids) // 2 :]
            self._ids = dict(kept)


def ensure_account(*, session: Session, code: str) -> int:
    """Account ids by code; budgets are created guarded, so they can never go negative."""
    return ensure_accounts(session=session, codes=[code])[code]


def ensure_accounts(
    *, session: Session, codes: Iterable[str], known: KnownAccounts | None = None
) -> dict[str, int]:
    """Ids of the accounts named, creating the missing ones (budgets guarded)."""
    wanted = set(codes)
    found = known.lookup(wanted) if known is not None else {}
    unknown = wanted - found.keys()
    if not unknown:
        return found
    if known is not None:
        # A process that remembers accounts mostly meets new ones here (a household paid for
        # the first time): creating first, and reading only those that already existed,
        # saves that payout a round trip. Created ids are not remembered: a savepoint or the
        # transaction may still roll back.
        found.update(_create_accounts(session, unknown))
        existing = unknown - found.keys()
        if existing:
            read = repository.account_ids(session, existing)
            known.remember(session, read)
            found.update(read)
        return found
    found.update(repository.account_ids(session, unknown))
    missing = wanted - found.keys()
    if missing:
        found.update(_create_accounts(session, missing))
        lost_races = missing - found.keys()
        if lost_races:  # created by a concurrent transaction between our read and insert
            found.update(repository.account_ids(session, lost_races))
    return found


def _create_accounts(session: Session, codes: Iterable[str]) -> dict[str, int]:
    """Create accounts unless a concurrent transaction just did (budgets guarded); the ids
    of those this transaction created."""
    kinds = {code: code.split(":", 1)[0] for code in codes}
    created = repository.insert_accounts_if_absent(
        session, [(code, kind, kind == "budget") for code, kind in sorted(kinds.items())]
    )
    session.info.setdefault(_CREATED_HERE, set()).update(created)
    return created


MoveKind = Literal["posted", "pending", "post_pending", "void_pending"]


@dataclass(frozen=True)
class Move:
    """One transfer to book; accounts by id, or by code (created on first use)."""

    kind: MoveKind
    debit: int | str
    credit: int | str
    amount: int
    memo: str
    # The pending transfer a post_pending or void_pending resolves.
    pending_id: int | None = None


# How each kind changes (debits_posted, credits_posted, debits_pending, credits_pending) of
# its debit account and of its credit account.
_EFFECTS: dict[str, tuple[tuple[int, int, int, int], tuple[int, int, int, int]]] = {
    "posted": ((1, 0, 0, 0), (0, 1, 0, 0)),
    "pending": ((0, 0, 1, 0), (0, 0, 0, 1)),
    "post_pending": ((1, 0, -1, 0), (0, 1, 0, -1)),
    "void_pending": ((0, 0, -1, 0), (0, 0, 0, -1)),
}


@dataclass(frozen=True)
class Booking:
    """Transfers to insert and the net change of each account's totals, accounts resolved."""

    transfers: list[dict[str, object]]
    deltas: dict[int, list[int]]
    # The accounts named by code, with their ids (some perhaps created by this transaction).
    accounts: dict[str, int]


def plan(
    *,
    session: Session,
    moves: Sequence[Move],
    now: datetime,
    payout_id: int | None = None,
    known: KnownAccounts | None = None,
) -> Booking:
    """Resolve (or create) the accounts and net each one's change; nothing is locked yet."""
    codes = {a for m in moves for a in (m.debit, m.credit) if isinstance(a, str)}
    by_code = ensure_accounts(session=session, codes=codes, known=known) if codes else {}

    def account(ref: int | str) -> int:
        return by_code[ref] if isinstance(ref, str) else ref

    deltas: dict[int, list[int]] = {}
    for move in moves:
        for side, effect in zip((move.debit, move.credit), _EFFECTS[move.kind], strict=True):
            delta = deltas.setdefault(account(side), [0, 0, 0, 0])
            for i, change in enumerate(effect):
                delta[i] += change * move.amount
    transfers: list[dict[str, object]] = [
        {
            "debit_account_id": account(m.debit),
            "credit_account_id": account(m.credit),
            "amount": m.amount,
            "kind": m.kind,
            "pending_id": m.pending_id,
            "payout_id": payout_id,
            "memo": m.memo[:200],
            "created_at": now,
        }
        for m in moves
    ]
    return Booking(transfers, deltas, by_code)


def insert(*, session: Session, booking: Booking) -> list[int]:
    """Insert the booking's transfers in one statement; their ids in order."""
    return repository.insert_transfers(session, booking.transfers)


def booked_pending(booking: Booking, ids: Sequence[int]) -> list[BookedPending]:
    """The booking's pending transfers, given the ids `insert` returned for its transfers."""
    return [
        BookedPending(
            id=transfer_id,
            debit_account_id=cast(int, transfer["debit_account_id"]),
            credit_account_id=cast(int, transfer["credit_account_id"]),
            amount=cast(int, transfer["amount"]),
        )
        for transfer, transfer_id in zip(booking.transfers, ids, strict=True)
        if transfer["kind"] == "pending"
    ]


def settle(*, session: Session, booking: Booking) -> None:
    """Apply every net change at once; a guarded account that would go negative refuses all.

    The guard is the accounts' CHECK constraint (`guarded_not_negative`), judged by the
    database on the updated row itself, so no read-and-lock comes first: the budget rows, which
    every payout touches, are locked only from this one round trip to the commit, and a caller
    settles as the last step of its transaction. The rows are updated in id order, so two
    bookings can't deadlock. A refusal raises BudgetExhausted; the caller's transaction must
    then roll back (PostgreSQL has aborted it), which the callers' unit of work does.
    """
    if not booking.deltas:
        return
    try:
        repository.apply_account_deltas(session, booking.deltas)
    except IntegrityError as exc:
        spends = sum(max(0, dp + dpe) for dp, _, dpe, _ in booking.deltas.values())
        raise BudgetExhausted(
            "The programme budget cannot cover this amount.", amount=spends
        ) from exc


def book(
    *, session: Session, moves: Sequence[Move], now: datetime, payout_id: int | None = None
) -> list[int]:
    """Book transfers together (checked before anything is written); their ids in order.

    A handful of statements whatever the number of moves: accounts resolved, locked in id
    order (two bookings can't deadlock), each updated once, transfers inserted at once.
    """
    booking = plan(session=session, moves=moves, now=now, payout_id=payout_id)
    settle(session=session, booking=booking)
    return insert(session=session, booking=booking)


def resolution(pending: PendingTransfer, *, post_it: bool, memo: str) -> Move:
    """The move that posts or voids a pending transfer."""
    return Move(
        "post_pending" if post_it else "void_pending",
        pending.debit_account_id,
        pending.credit_account_id,
        pending.amount,
        memo,
        pending_id=pending.id,
    )


@dataclass(frozen=True)
class Funding:
    """What funding a programme did: the amount moved and any shortfall left standing.

    `shortfall` is how far the configured budget lies below what is already spent or
    reserved: the budget cannot be taken back below that, so the programme stays funded at
    exactly what it has used and can reserve nothing more until its budget is raised.
    """

    programme: str
    budget: int
    moved: int
    shortfall: int = 0


def fund_budget(*, session: Session, programme: str, budget: int, now: datetime) -> Funding:
    """Bring a programme's funding to its configured budget, once, whoever else is doing it.

    The programme's funding lock is taken before anything is read, so concurrent processes
    starting together fund in turn and each later one finds nothing left to move.
    """
    repository.lock_budget(session, programme=programme)
    funding = ensure_account(session=session, code=FUNDING_ACCOUNT)
    account = ensure_account(session=session, code=budget_account(programme))
    funded = repository.funded_total(session, funding=funding, budget=account)
    used = repository.used_by_budget(session, funding=funding, budget=account)
    target = max(budget, used)
    difference = target - funded
    if difference:
        debit, credit = (funding, account) if difference > 0 else (account, funding)
        verb = "fund" if difference > 0 else "reduce"
        move = Move("posted", debit, credit, abs(difference), f"{verb} {programme} to {target}")
        book(session=session, moves=[move], now=now)
    return Funding(programme, budget, difference, shortfall=target - budget)


@dataclass(frozen=True)
class AccountBalance:
    code: str
    posted: int
    pending_debits: int
    available: int


def balances(*, session: Session) -> list[AccountBalance]:
    """Credit-normal balances of every account, as an operator reads them."""
    return [
        AccountBalance(
            code=a.code,
            posted=a.credits_posted - a.debits_posted,
            pending_debits=a.debits_pending,
            available=a.credits_posted - a.debits_posted - a.debits_pending,
        )
        for a in repository.all_accounts(session)
    ]


def audit_ledger(*, session: Session, budgets: Mapping[str, int] | None = None) -> list[str]:
    """Problems found when recomputing every total from the transfers; empty means sound.

    With `budgets` (programme code to configured budget), each budget account's funded total
    is also compared with its configuration: a balanced ledger can still hold a budget funded
    twice, the extra drawn from the treasury.
    """
    problems: list[str] = []
    if budgets:
        funding = ensure_account(session=session, code=FUNDING_ACCOUNT)
        ids = ensure_accounts(session=session, codes=[budget_account(p) for p in budgets])
        for programme, budget in sorted(budgets.items()):
            funded = repository.funded_total(
                session, funding=funding, budget=ids[budget_account(programme)]
            )
            if funded != budget:
                problems.append(
                    f"{budget_account(programme)}: funded Rp {funded:,}, configured Rp {budget:,}"
                )
    totals = repository.transfer_totals(session)
    zero = {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0}
    grand = 0
    for account in repository.all_accounts(session):
        derived = totals.get(account.id, zero)
        for field, value in derived.items():
            if getattr(account, field) != value:
                problems.append(
                    f"{account.code}: {field} is {getattr(account, field)}, transfers say {value}"
                )
        if (
            account.guarded
            and account.debits_posted + account.debits_pending > account.credits_posted
        ):
            problems.append(f"{account.code}: guarded account is negative")
        grand += account.credits_posted - account.debits_posted
    if grand != 0:
        problems.append(f"posted balances sum to {grand}, not zero")
    return problems
