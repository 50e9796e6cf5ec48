"""The checks every adapter applies to a bank's answer before anyone may believe it.

Kept in one place so that the three adapters classify bad bank input the same way: a reference
we never sent, a status code we do not know, an amount that differs from ours or is not whole
rupiah all become `BankResponseInvalid` with the matching `AnomalyKind`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from adapters.base import AnomalyKind, BankResponseInvalid, TransferResult, TransferState


def _invalid(
    why: str, *, kind: AnomalyKind, reference: str | None, excerpt: str, field: str
) -> BankResponseInvalid:
    """`field` names where the value sat in the bank's message, and leads the sentence."""
    return BankResponseInvalid(
        f"{field}: {why}" if field else why,
        kind=kind,
        reference=reference,
        excerpt=excerpt,
        field=field,
    )


def parse_rupiah(
    value: object, *, reference: str | None, excerpt: str = "", field: str = ""
) -> int:
    """A bank's amount as whole rupiah; fractions, negatives and non-numbers are anomalies."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _invalid(
            f"amount {value!r} is not a number",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
            excerpt=excerpt,
            field=field,
        ) from exc
    if not amount.is_finite() or amount < 0 or amount != amount.to_integral_value():
        raise _invalid(
            f"amount {value!r} is not a whole, non-negative number of rupiah",
            kind=AnomalyKind.AMOUNT_MISMATCH,
            reference=reference,
            excerpt=excerpt,
            field=field,
        )
    return int(amount)


def map_status(
    code: str,
    table: Mapping[str, TransferState],
    *,
    reference: str | None,
    excerpt: str = "",
    field: str = "",
) -> TransferState:
    """Translate a bank status code; a code outside the table is never guessed at."""
    try:
        return table[code]
    except KeyError:
        raise _invalid(
            f"bank status code {code!r} is not one this adapter understands",
            kind=AnomalyKind.UNKNOWN_STATUS_CODE,
            reference=reference,
            excerpt=excerpt,
            field=field,
        ) from None


def verify_result(
    result: TransferResult,
    *,
    reference: str,
    expected_amount: int | None,
    excerpt: str = "",
    amount_field: str = "",
) -> TransferResult:
    """Refuse an answer about another reference or another amount than the one we hold.

    `amount_field` names where the bank's message carries (or should carry) the amount.
    """
    if result.reference != reference:
        raise BankResponseInvalid(
            f"asked about {reference} but the bank answered about {result.reference}",
            kind=AnomalyKind.UNKNOWN_REFERENCE,
            reference=reference,
            excerpt=excerpt,
        )
    if (
        expected_amount is not None
        and result.amount is not None
        and result.amount != expected_amount
    ):
        raise _invalid(
            f"bank reports Rp {result.amount} for {reference}, the gateway sent "
            f"Rp {expected_amount}",
            kind=AnomalyKind.AMOUNT_MISMATCH,
            reference=reference,
            excerpt=excerpt,
            field=amount_field,
        )
    if result.state is TransferState.SETTLED and result.amount is None:
        raise _invalid(
            f"bank reports {reference} settled without an amount: no proof of payment",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
            excerpt=excerpt,
            field=amount_field,
        )
    return result
