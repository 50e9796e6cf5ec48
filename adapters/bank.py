"""A complete in-process bank: accounts, a double-entry ledger, transfers honoured by reference.

It is the back end of every simulated front end (the in-process adapter, the ISO 20022 server and
the SNAP server), so all three adapters are tested against the same bookkeeping. Not a mock: it
checks funds, refuses closed and unknown accounts, books every movement as a debit and a credit,
settles late answers on its own clock, reverses settled transfers and writes its statements.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from adapters.base import (
    WIB,
    AccountRef,
    Clock,
    EntryDirection,
    ReferenceConflict,
    Statement,
    StatementEntry,
    TransferNotReversible,
    TransferRequest,
    TransferState,
    check_reference,
    utc_now,
)

# ISO 20022 external status reason codes the bank gives for its refusals.
REASON_UNKNOWN_ACCOUNT = "AC01"  # incorrect account number
REASON_CLOSED_ACCOUNT = "AC04"  # closed account number
REASON_INSUFFICIENT_FUNDS = "AM04"  # insufficient funds
REASON_SYSTEM_DECLINE = "MS03"  # reason not specified (risk or system decline)
REASON_EXPIRED = "TM01"  # received after the instruction's cut-off time


@dataclass(slots=True)
class Account:
    number: str
    name: str
    balance: int = 0
    held: int = 0  # accepted, not yet settled transfers
    closed: bool = False
    # Clearing accounts towards other banks and the bank's capital account may go negative.
    overdraft: bool = False

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass(slots=True)
class LedgerEntry:
    account: str
    amount: int  # signed: positive credits the account, negative debits it
    reference: str
    bank_reference: str
    booked_at: datetime
    counterparty: str
    reversal_of: str | None = None


@dataclass(slots=True)
class BankTransfer:
    """The bank's record of one reference; the same record answers every repeat of it."""

    request: TransferRequest
    debtor: str
    creditor: str
    bank_reference: str
    state: TransferState
    accepted_at: datetime
    settle_at: datetime | None = None
    settled_at: datetime | None = None
    reason_code: str | None = None
    reason: str = ""
    reversal_of: str | None = None
    reversed_by: str | None = None
    deliveries: int = 1


@dataclass(slots=True)
class _Books:
    accounts: dict[str, Account] = field(default_factory=dict)
    transfers: dict[str, BankTransfer] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    # Late settlements by due time, so settling what is due never scans every transfer.
    due: list[tuple[datetime, int, str]] = field(default_factory=list)


class SimulatedBank:
    """One bank holding the gateway's settlement account, thread-safe behind one lock."""

    CAPITAL = "0000000000"

    def __init__(
        self,
        *,
        bank_code: str = "BRINIDJA",
        settlement_account: str = "1001000000001",
        opening_balance: int = 10_000_000_000,
        clock: Clock = utc_now,
    ) -> None:
        self.bank_code = bank_code
        self.settlement_account = settlement_account
        self.clock = clock
        self._lock = threading.RLock()
        self._books = _Books()
        self._sequence = itertools.count(1)
        self._open(Account(self.CAPITAL, "Bank capital", overdraft=True))
        self._open(Account(settlement_account, "Satu Pintu settlement"))
        if opening_balance:
            self.fund(opening_balance, reference="OPENING-FUNDS")

    # -- accounts --------------------------------------------------------------------------

    def _open(self, account: Account) -> None:
        self._books.accounts[account.number] = account

    def open_account(self, number: str, name: str, *, balance: int = 0) -> AccountRef:
        """Open a customer account here (a family's or an agent's) and return its reference.

        Opening an account that exists already changes nothing, so callers may mirror a
        register into the bank repeatedly.
        """
        with self._lock:
            if number in self._books.accounts:
                return AccountRef(self.bank_code, number, self._books.accounts[number].name)
            self._open(Account(number, name))
            if balance:
                self._post(self.CAPITAL, number, balance, f"OPEN-{number}", None)
            return AccountRef(self.bank_code, number, name)

    def close_account(self, number: str) -> None:
        with self._lock:
            self._books.accounts[number].closed = True

    def fund(self, amount: int, *, reference: str) -> None:
        """Top up the settlement account from the bank's capital (a programme budget arriving)."""
        with self._lock:
            self._post(self.CAPITAL, self.settlement_account, amount, reference, None)

    def withdraw(self, number: str, amount: int, *, reference: str) -> None:
        """A customer takes cash out (at an agent or a teller); refused beyond the balance."""
        with self._lock:
            if self._books.accounts[number].available < amount:
                raise ValueError(f"account {number} holds less than Rp {amount}")
            self._post(number, self.CAPITAL, amount, reference, None)

    def balance(self, number: str) -> int:
        with self._lock:
            self._settle_due()
            return self._books.accounts[number].balance

    def _clearing(self, bank_code: str) -> str:
        """The nostro account towards another bank; created on first use."""
        number = f"9{zlib.crc32(bank_code.encode()):012d}"
        if number not in self._books.accounts:
            self._open(Account(number, f"Clearing {bank_code}", overdraft=True))
        return number

    # -- transfers --------------------------------------------------------------------------

    def execute(
        self,
        request: TransferRequest,
        *,
        decline_reason: str | None = None,
        settle_after: float = 0.0,
    ) -> BankTransfer:
        """Process a transfer once per reference; a repeat returns the first outcome.

        `decline_reason` and `settle_after` come from the fault injector (a system decline, a
        late settlement); business rules (unknown or closed account, funds) are the bank's own.
        """
        with self._lock:
            self._settle_due()
            existing = self._books.transfers.get(request.reference)
            if existing is not None:
                if not existing.request.same_terms(request):
                    raise ReferenceConflict(
                        f"reference {request.reference} was already used for a different transfer",
                        reference=request.reference,
                    )
                existing.deliveries += 1
                return existing
            now = self.clock()
            transfer = BankTransfer(
                request=request,
                debtor=self.settlement_account,
                creditor=self._creditor_account(request.creditor),
                bank_reference=f"{self.bank_code[:4]}{next(self._sequence):010d}",
                state=TransferState.PENDING,
                accepted_at=now,
            )
            self._books.transfers[request.reference] = transfer
            refusal = decline_reason or self._refusal(request)
            if refusal is not None:
                transfer.state = TransferState.REJECTED
                transfer.reason_code = refusal
                transfer.reason = _REASONS.get(refusal, "declined by the bank")
                return transfer
            if settle_after > 0:
                transfer.settle_at = now + timedelta(seconds=settle_after)
                self._books.accounts[transfer.debtor].held += request.amount
                heapq.heappush(
                    self._books.due,
                    (transfer.settle_at, next(self._sequence), request.reference),
                )
            else:
                self._settle(transfer, now)
            return transfer

    def _creditor_account(self, creditor: AccountRef) -> str:
        if creditor.bank_code == self.bank_code:
            return creditor.number
        return self._clearing(creditor.bank_code)

    def _refusal(self, request: TransferRequest) -> str | None:
        accounts = self._books.accounts
        if request.expires_at is not None and self.clock() > request.expires_at:
            return REASON_EXPIRED
        if request.creditor.bank_code == self.bank_code:
            target = accounts.get(request.creditor.number)
            if target is None:
                return REASON_UNKNOWN_ACCOUNT
            if target.closed:
                return REASON_CLOSED_ACCOUNT
        if accounts[self.settlement_account].available < request.amount:
            return REASON_INSUFFICIENT_FUNDS
        return None

    def _settle(self, transfer: BankTransfer, at: datetime) -> None:
        if transfer.settle_at is not None:
            self._books.accounts[transfer.debtor].held -= transfer.request.amount
        self._post(
            transfer.debtor,
            transfer.creditor,
            transfer.request.amount,
            transfer.request.reference,
            transfer.reversal_of,
            bank_reference=transfer.bank_reference,
            at=at,
        )
        transfer.state = TransferState.SETTLED
        transfer.settled_at = at

    def _settle_due(self) -> None:
        """Settle late transfers whose time has come, at the time they were due."""
        now = self.clock()
        due = self._books.due
        while due and due[0][0] <= now:
            settle_at, _, reference = heapq.heappop(due)
            self._settle(self._books.transfers[reference], settle_at)

    def _post(
        self,
        debit: str,
        credit: str,
        amount: int,
        reference: str,
        reversal_of: str | None,
        *,
        bank_reference: str = "",
        at: datetime | None = None,
    ) -> None:
        """Book one movement as two entries that sum to zero (double entry)."""
        accounts = self._books.accounts
        when = at or self.clock()
        accounts[debit].balance -= amount
        accounts[credit].balance += amount
        bank_ref = bank_reference or f"{self.bank_code[:4]}{next(self._sequence):010d}"
        self._books.ledger.append(
            LedgerEntry(debit, -amount, reference, bank_ref, when, credit, reversal_of)
        )
        self._books.ledger.append(
            LedgerEntry(credit, amount, reference, bank_ref, when, debit, reversal_of)
        )

    def lookup(self, reference: str) -> BankTransfer | None:
        """The bank's record for a reference, settling it first if its time has come."""
        with self._lock:
            self._settle_due()
            return self._books.transfers.get(reference)

    def reverse(self, reference: str, *, reversal_reference: str, reason: str) -> BankTransfer:
        """Return a settled transfer's money as a new transfer (idempotent by its reference)."""
        check_reference(reversal_reference)
        with self._lock:
            self._settle_due()
            original = self._books.transfers.get(reference)
            existing = self._books.transfers.get(reversal_reference)
            if existing is not None:
                if existing.reversal_of != reference:
                    raise ReferenceConflict(
                        f"reference {reversal_reference} was already used for another transfer",
                        reference=reversal_reference,
                    )
                existing.deliveries += 1
                return existing
            if original is None or original.state is not TransferState.SETTLED:
                state = "unknown" if original is None else original.state.value
                raise TransferNotReversible(
                    f"transfer {reference} is {state}; only a settled transfer can be reversed",
                    reference=reference,
                )
            back = TransferRequest(
                reference=reversal_reference,
                amount=original.request.amount,
                creditor=AccountRef(self.bank_code, self.settlement_account),
                remittance=reason[:140],
            )
            now = self.clock()
            transfer = BankTransfer(
                request=back,
                debtor=original.creditor,
                creditor=self.settlement_account,
                bank_reference=f"{self.bank_code[:4]}{next(self._sequence):010d}",
                state=TransferState.PENDING,
                accepted_at=now,
                reversal_of=reference,
                reason=reason,
            )
            self._books.transfers[reversal_reference] = transfer
            source = self._books.accounts[original.creditor]
            if not source.overdraft and source.available < back.amount:
                transfer.state = TransferState.REJECTED
                transfer.reason_code = REASON_INSUFFICIENT_FUNDS
                transfer.reason = _REASONS[REASON_INSUFFICIENT_FUNDS]
                return transfer
            self._settle(transfer, now)
            original.state = TransferState.REVERSED
            original.reversed_by = reversal_reference
            return transfer

    # -- statements --------------------------------------------------------------------------

    def statement(self, day: date) -> Statement:
        """Every movement booked on the settlement account on `day` (WIB), with balances."""
        start = datetime.combine(day, time(0), WIB)
        end = start + timedelta(days=1)
        with self._lock:
            self._settle_due()
            mine = [e for e in self._books.ledger if e.account == self.settlement_account]
        opening = sum(e.amount for e in mine if e.booked_at < start)
        todays = [e for e in mine if start <= e.booked_at < end]
        entries = tuple(
            StatementEntry(
                reference=e.reference,
                amount=abs(e.amount),
                direction=EntryDirection.CREDIT if e.amount > 0 else EntryDirection.DEBIT,
                booked_at=e.booked_at,
                bank_reference=e.bank_reference,
                counterparty=e.counterparty,
                reversal_of=e.reversal_of,
            )
            for e in todays
        )
        return Statement(
            account=self.settlement_account,
            day=day,
            opening_balance=opening,
            closing_balance=opening + sum(e.amount for e in todays),
            entries=entries,
            statement_id=f"STMT-{self.bank_code[:4]}-{day:%Y%m%d}",
        )

    def camt053(self, day: date) -> bytes:
        """The day's statement as an ISO 20022 camt.053.001.09 document."""
        from adapters.iso20022.camt053 import build_camt053

        return build_camt053(self.statement(day), bank_code=self.bank_code, created=self.clock())

    # -- invariants --------------------------------------------------------------------------

    def ledger_sum(self) -> int:
        """Zero while the books balance; the conformance kit asserts it."""
        with self._lock:
            return sum(e.amount for e in self._books.ledger)

    def bookings(self, reference: str) -> int:
        """How many times money moved under a reference (must never exceed one)."""
        with self._lock:
            return sum(
                1
                for e in self._books.ledger
                if e.reference == reference and e.account == self.settlement_account
            )


_REASONS = {
    REASON_UNKNOWN_ACCOUNT: "creditor account does not exist",
    REASON_CLOSED_ACCOUNT: "creditor account is closed",
    REASON_INSUFFICIENT_FUNDS: "insufficient funds on the debtor account",
    REASON_SYSTEM_DECLINE: "declined by the bank",
    REASON_EXPIRED: "the instruction arrived after its expiry",
}
