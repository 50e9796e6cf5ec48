"""The states of a payout's two-phase life, and those it never leaves."""

from __future__ import annotations

from enum import StrEnum


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
