"""Review cases as the operator API and the CLI show them (one shaping for both)."""

from __future__ import annotations

from gateway.payouts.models import Payout
from gateway.payouts.review import ReviewCase
from gateway.payouts.schemas import (
    AuditStepOut,
    LateAnswerOut,
    PayoutLineOut,
    ResolutionOut,
    ReviewCaseOut,
    ReviewItemOut,
)


def item(payout: Payout, *, awaiting_approval: bool = False) -> ReviewItemOut:
    return ReviewItemOut(
        reference=payout.reference,
        bank=payout.bank_code,
        amount=payout.amount,
        reason=payout.failure_code,
        detail=payout.failure_reason,
        created_at=payout.created_at,
        updated_at=payout.updated_at,
        awaiting_approval=awaiting_approval,
    )


def case_out(case: ReviewCase) -> ReviewCaseOut:
    waiting = any(r.status == "awaiting" for r in case.resolutions)
    return ReviewCaseOut(
        payout=item(case.payout, awaiting_approval=waiting),
        state=case.payout.state,
        terminal=case.payout.terminal_id,
        household_id=case.payout.household_id,
        lines=[PayoutLineOut.model_validate(line) for line in case.lines],
        late_answers=[LateAnswerOut.model_validate(a) for a in case.late_answers],
        resolutions=[ResolutionOut.model_validate(r) for r in case.resolutions],
        history=[
            AuditStepOut(seq=e.seq, at=e.at, actor=e.actor, data=dict(e.data)) for e in case.history
        ],
    )
