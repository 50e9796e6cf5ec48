"""The one protocol every bank adapter implements, its value types and its errors.

The payout state machine depends on three facts an adapter must never blur:
- `TransferRejected`: the bank definitely did not move the money; the reservation may be voided.
- `OutcomeUnknown`: we cannot tell (timeout, connection reset, lost answer); the payout must stay
  submitted and be resolved later by `status(reference)`, never voided or committed on a guess.
- `BankResponseInvalid`: the bank said something we cannot trust (malformed message, unknown
  status code, a reference we never sent, a different amount); it is surfaced for
  reconciliation and is never proof of payment.

Amounts are whole rupiah as `int` everywhere (never float): IDR payouts have no minor unit in
practice, and a fractional amount arriving from a bank is itself an anomaly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

CURRENCY = "IDR"
# ISO 20022 EndToEndId is Max35Text; SNAP partnerReferenceNo allows 64. The tighter bound and a
# conservative alphabet keep one reference valid on every rail without escaping.
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,34}$")
# The national fast payment rail caps one transaction at Rp 250,000,000; no payout is larger.
MAX_TRANSFER_RUPIAH = 250_000_000
# Indonesian banks close their books in Western Indonesian Time; statement days follow it.
WIB = timezone(timedelta(hours=7), "WIB")

Clock = Callable[[], datetime]
"""Returns the current aware UTC time; injected so tests never sleep or depend on the wall."""


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Errors


class BankAdapterError(ValueError):
    """Base of every adapter error: a stable machine-readable `code` and a human sentence."""

    code: ClassVar[str] = "bank_adapter_error"

    def __init__(self, message: str, *, reference: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference


class InvalidTransferRequest(BankAdapterError):
    """Our own request is invalid (bad reference, amount out of range); nothing was sent."""

    code = "invalid_transfer_request"


class TransferRejected(BankAdapterError):
    """The bank definitely refused the transfer: no money moved, safe to void.

    `reason_code` is the bank's own code (ISO 20022 external status reason such as AC04
    closed account or AM04 insufficient funds, or a SNAP response code) so operators can act.
    """

    code = "transfer_rejected"

    def __init__(
        self, message: str, *, reference: str | None = None, reason_code: str = "NARR"
    ) -> None:
        super().__init__(message, reference=reference)
        self.reason_code = reason_code


class OutcomeUnknown(BankAdapterError):
    """No trustworthy answer arrived (timeout, reset, lost reply): resolve with `status()`."""

    code = "outcome_unknown"


class ReferenceConflict(BankAdapterError):
    """The bank already holds this reference with different details (amount or creditor).

    Not a rejection: the first transfer under that reference may well have been paid. It needs
    a human, so the payout goes to review.
    """

    code = "reference_conflict"


class TransferNotReversible(BankAdapterError):
    """The transfer cannot be reversed (unknown, not settled, or already reversed)."""

    code = "transfer_not_reversible"


class AnomalyKind(StrEnum):
    """Why a bank's message was not trusted; each is a reconciliation finding."""

    MALFORMED_MESSAGE = "malformed_message"
    UNKNOWN_STATUS_CODE = "unknown_status_code"
    UNKNOWN_REFERENCE = "unknown_reference"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNEXPECTED_RESPONSE = "unexpected_response"
    STATEMENT_INCONSISTENT = "statement_inconsistent"  # balances and entries do not add up


class BankResponseInvalid(BankAdapterError):
    """The bank answered, but the answer is not proof of anything: flag for reconciliation.

    `excerpt` keeps the first bytes of the offending message for the reconciliation report (bank
    messages carry account numbers, never biometrics or NIKs). `field` names the element at fault
    as an XPath-like path (`Stmt/Bal[1]/Amt/@Ccy`) when one is to blame, so an operator can take
    the finding to the bank without reading the whole message.
    """

    code = "bank_response_invalid"

    def __init__(
        self,
        message: str,
        *,
        kind: AnomalyKind,
        reference: str | None = None,
        excerpt: str = "",
        field: str = "",
    ) -> None:
        super().__init__(message, reference=reference)
        self.kind = kind
        self.excerpt = excerpt[:500]
        self.field = field


# ---------------------------------------------------------------------------------------------
# Value types


def check_reference(reference: str) -> str:
    """Validate a gateway reference; raise `InvalidTransferRequest` naming the rule broken."""
    if not isinstance(reference, str) or not REFERENCE_PATTERN.fullmatch(reference):
        raise InvalidTransferRequest(
            f"reference {reference!r} must be 1-35 characters of letters, digits and '-', "
            "starting with a letter or digit",
            reference=reference if isinstance(reference, str) else None,
        )
    return reference


def check_amount(amount: int, *, reference: str | None = None) -> int:
    """Validate a payout amount in whole rupiah (int, never bool or float)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidTransferRequest(
            f"amount must be whole rupiah as int, got {type(amount).__name__}", reference=reference
        )
    if not 0 < amount <= MAX_TRANSFER_RUPIAH:
        raise InvalidTransferRequest(
            f"amount Rp {amount} outside 1..{MAX_TRANSFER_RUPIAH}", reference=reference
        )
    return amount


class TransferKind(StrEnum):
    """What the money is for at the far end; banks route both the same way."""

    ACCOUNT_CREDIT = "account_credit"  # straight to the family's own account
    CASH_OUT = "cash_out"  # to the agent's account, who hands the cash over the counter


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account at a bank: the bank's code (BIC or national code) and the account number."""

    bank_code: str
    number: str
    name: str = ""

    def __post_init__(self) -> None:
        if not self.bank_code or not self.number.isdigit() or len(self.number) > 34:
            raise InvalidTransferRequest(
                f"account {self.number!r} at {self.bank_code!r} must be up to 34 digits"
            )


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """One payout leg: move `amount` rupiah from the adapter's settlement account to `creditor`.

    `reference` is the gateway's unique id for the transfer; the bank must treat a repeat of the
    same reference as the same transfer (idempotency), which is what makes retries safe.
    """

    reference: str
    amount: int
    creditor: AccountRef
    kind: TransferKind = TransferKind.ACCOUNT_CREDIT
    remittance: str = ""
    # The bank must refuse the instruction if it arrives later than this (where the rail can
    # say so): after it, a "not found" proves that no send of it can still be paid.
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        check_reference(self.reference)
        check_amount(self.amount, reference=self.reference)
        if len(self.remittance) > 140:
            raise InvalidTransferRequest(
                "remittance text is limited to 140 characters", reference=self.reference
            )

    def same_terms(self, other: TransferRequest) -> bool:
        """True when a repeat of this reference asks for the very same money movement."""
        return (
            self.reference == other.reference
            and self.amount == other.amount
            and self.creditor.bank_code == other.creditor.bank_code
            and self.creditor.number == other.creditor.number
        )


class TransferState(StrEnum):
    """Where a transfer stands at the bank, as `status()` reports it."""

    NOT_FOUND = "not_found"  # the bank never received it: resubmitting the reference is safe
    PENDING = "pending"  # accepted, not yet final
    SETTLED = "settled"  # money moved: proof of payment
    REJECTED = "rejected"  # definitely failed, nothing moved
    REVERSED = "reversed"  # settled, then returned by a reversal

    @property
    def is_final(self) -> bool:
        return self in {TransferState.SETTLED, TransferState.REJECTED, TransferState.REVERSED}


@dataclass(frozen=True, slots=True)
class TransferResult:
    """The bank's answer about one reference; only `SETTLED` (or `REVERSED`) proves payment."""

    reference: str
    state: TransferState
    amount: int | None = None
    bank_reference: str | None = None
    reason_code: str | None = None
    reason: str = ""
    settled_at: datetime | None = None


class EntryDirection(StrEnum):
    DEBIT = "DBIT"
    CREDIT = "CRDT"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booked movement on the settlement account; `reference` is the gateway's id."""

    reference: str
    amount: int
    direction: EntryDirection
    booked_at: datetime
    bank_reference: str = ""
    counterparty: str = ""
    reversal_of: str | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """An end-of-day account statement (camt.053): balances and every entry booked that day.

    `raw` keeps the bank's document bytes when one exists, so reconciliation can archive it.
    """

    account: str
    day: date
    opening_balance: int
    closing_balance: int
    entries: tuple[StatementEntry, ...]
    statement_id: str = ""
    raw: bytes | None = field(default=None, repr=False)

    def is_balanced(self) -> bool:
        """True when opening + credits - debits equals closing: the statement is complete."""
        net = sum(
            e.amount if e.direction is EntryDirection.CREDIT else -e.amount for e in self.entries
        )
        return self.opening_balance + net == self.closing_balance


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    bank_code: str
    latency_ms: float
    detail: str = ""


# ---------------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class BankAdapter(Protocol):
    """What the payout service needs from a bank. Synchronous: callers run it in worker threads.

    Contracts (checked by `adapters.conformance`):
    - `submit` returns a `TransferResult` in state PENDING or SETTLED, or raises
      `TransferRejected`, `OutcomeUnknown`, `ReferenceConflict` or `BankResponseInvalid`.
      Submitting the same request again returns the same result (same `bank_reference`).
    - `status` answers for any reference, `NOT_FOUND` included; it raises `OutcomeUnknown` when
      the bank cannot be asked and `BankResponseInvalid` when its answer is untrustworthy
      (including an amount other than `expected_amount`, which callers pass when they know it).
    - `reverse` returns a new transfer under `reversal_reference` (itself idempotent); the
      original then reports `REVERSED`.
    - `statement` lists every movement booked on the settlement account on `day`.
    - `longest_call_s` bounds how long one call can last, retries included: a payout's lease
      must outlast it, and a "not found" counts only once that long has passed since a send.
    - `honours_expiry` says the bank refuses a transfer arriving after its `expires_at`.
    """

    @property
    def bank_code(self) -> str: ...

    @property
    def longest_call_s(self) -> float: ...

    @property
    def honours_expiry(self) -> bool: ...

    def submit(self, transfer: TransferRequest) -> TransferResult: ...

    def status(self, reference: str, *, expected_amount: int | None = None) -> TransferResult: ...

    def reverse(
        self, reference: str, *, reversal_reference: str, reason: str
    ) -> TransferResult: ...

    def statement(self, day: date) -> Statement: ...

    def health(self) -> HealthReport: ...
