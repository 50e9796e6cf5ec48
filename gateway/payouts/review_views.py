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
        lines=[
            PayoutLineOut(
                programme=line.programme,
                component=line.component,
                subject=line.subject,
                period=line.period,
                amount=line.amount,
            )
            for line in case.lines
        ],
        late_answers=[
            LateAnswerOut(
                epoch=a.epoch,
                received_at=a.received_at,
                answer=a.answer,
                amount=a.amount,
                bank_reference=a.bank_reference,
                detail=a.detail,
            )
            for a in case.late_answers
        ],
        resolutions=[
            ResolutionOut(
                decision=r.decision,
                reason=r.reason,
                evidence=r.evidence,
                proposed_by=r.proposed_by,
                proposed_at=r.proposed_at,
                approved_by=r.approved_by,
                approved_at=r.approved_at,
                status=r.status,
            )
            for r in case.resolutions
        ],
        history=[
            AuditStepOut(seq=e.seq, at=e.at, actor=e.actor, data=dict(e.data)) for e in case.history
        ],
    )
