"""Every payout decision into the chained audit log: who or what decided, on which grounds.

A decision names the payout by reference, its amount, its programmes, the terminal that
asked and the verification (token id) it rests on, so an auditor can follow the money from
the fingerprint to the bank without the database's mutable tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.payouts import repository
from gateway.payouts.models import Payout

# The automatic path decides on the bank's answers; people sign as `operator:<id>`.
SYSTEM = "system:payouts"


def record(
    session: Session,
    payout: Payout,
    decision: str,
    *,
    actor: str = SYSTEM,
    detail: Mapping[str, object] | None = None,
    programmes: Sequence[str] | None = None,
) -> None:
    """Append one decision (paid, refused, voided, review, reversed, ...) about `payout`.

    `programmes` saves reading the payout's lines when the caller holds them already.
    """
    if programmes is None:
        programmes = [line.programme for line in repository.lines_of(session, payout.id)]
    programmes = sorted(set(programmes))
    append(
        session=session,
        kind=AuditKind.reversal if decision == "reversed" else AuditKind.payout,
        actor=actor,
        subject=f"payout:{payout.reference}",
        data={
            "decision": decision,
            "state": payout.state,
            "amount": payout.amount,
            "programmes": programmes,
            "terminal": payout.terminal_id,
            "verification": payout.token_id,
            "bank": payout.bank_code,
            "channel": payout.channel,
            **(detail or {}),
        },
    )
