"""What a bank says about one reference, before any wire format, and how to read it.

Shared by the bank side (the simulated front desk and servers render an `Answer` into their
wire format) and the client side (adapters map status codes back and raise on rejection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from adapters.base import TransferRejected, TransferResult, TransferState

# Answer codes: ISO 20022 external transaction statuses plus two bilateral four-letter codes,
# RVSD (settled, then returned) and NOTF (no transfer under this reference), which the pacs.002
# TxSts element (Max4Text) carries as they are.
CODE_SETTLED = "ACSC"
CODE_PENDING = "ACSP"
CODE_REJECTED = "RJCT"
CODE_REVERSED = "RVSD"
CODE_NOT_FOUND = "NOTF"
STATUS_CODES: Mapping[str, TransferState] = {
    CODE_SETTLED: TransferState.SETTLED,
    "ACCC": TransferState.SETTLED,
    CODE_PENDING: TransferState.PENDING,
    "ACTC": TransferState.PENDING,
    "PDNG": TransferState.PENDING,
    # Group statuses of a message received (RCVD) or accepted for processing (ACCP): not final.
    "RCVD": TransferState.PENDING,
    "ACCP": TransferState.PENDING,
    CODE_REJECTED: TransferState.REJECTED,
    CODE_REVERSED: TransferState.REVERSED,
    CODE_NOT_FOUND: TransferState.NOT_FOUND,
}
CODE_OF = {
    TransferState.SETTLED: CODE_SETTLED,
    TransferState.PENDING: CODE_PENDING,
    TransferState.REJECTED: CODE_REJECTED,
    TransferState.REVERSED: CODE_REVERSED,
    TransferState.NOT_FOUND: CODE_NOT_FOUND,
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What the bank says about one reference, before any wire format."""

    reference: str
    status_code: str
    amount: int | None = None
    bank_reference: str | None = None
    reason_code: str | None = None
    reason: str = ""
    settled_at: datetime | None = None
    garbled: bool = False  # the wire rendering must be broken (malformed XML / JSON)


def raise_if_rejected(result: TransferResult) -> TransferResult:
    """A submission answered REJECTED is the definite failure the payout may void on."""
    if result.state is TransferState.REJECTED:
        raise TransferRejected(
            f"bank rejected {result.reference}: {result.reason or 'no reason given'}",
            reference=result.reference,
            reason_code=result.reason_code or "NARR",
        )
    return result
