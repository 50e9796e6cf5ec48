"""Routes of the trust domain: biometric-update review (case worker, then supervisor),
case-worker approvals, fallback cash-out approvals and anomaly alerts."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request

from gateway.db import utcnow
from gateway.deps import SessionDep
from gateway.enrollment import updates
from gateway.media import JSON
from gateway.terminals.auth import CaseWorkerDep, OpsOperatorDep
from gateway.trust import approvals
from gateway.trust.anomalies import AlertKind
from gateway.trust.schemas import (
    AlertView,
    BiometricUpdateView,
    CaseWorkerApprovalRequest,
    CaseWorkerApprovalView,
    CashOutApprovalRequest,
    CashOutApprovalView,
    UpdateDecision,
)
from gateway.verification import case_workers

router = APIRouter(tags=["biometric updates"])
ops_router = APIRouter(prefix="/v1/ops", tags=["operations: trust"])

UpdateStatus = Literal[
    "self_proven", "awaiting_case_worker", "awaiting_supervisor", "approved", "refused"
]


@router.get("/v1/biometric-updates", response_model=list[BiometricUpdateView])
def list_updates(
    session: SessionDep,
    operator: CaseWorkerDep,
    status: UpdateStatus | None = Query(default="awaiting_case_worker"),
    region: str | None = Query(default=None, pattern=r"^[0-9]{4}$"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=10_000_000),
) -> list[BiometricUpdateView]:
    return updates.list_updates(
        session=session, status=status, region=region, limit=limit, offset=offset
    )


@router.post(
    "/v1/biometric-updates/{reference}/review",
    response_model=BiometricUpdateView,
    dependencies=[JSON],
    summary="A case worker of the person's region reviews a held update (first of two)",
)
def review_update(
    reference: str, body: UpdateDecision, session: SessionDep, operator: CaseWorkerDep
) -> BiometricUpdateView:
    return updates.review(
        session=session,
        reference=reference,
        operator_id=operator.id,
        approve=body.decision == "approve",
        reason=body.reason,
    )


@ops_router.post(
    "/biometric-updates/{reference}/decision",
    response_model=BiometricUpdateView,
    dependencies=[JSON],
    summary="An ops supervisor approves or refuses a reviewed update (second of two)",
)
def decide_update(
    reference: str,
    body: UpdateDecision,
    request: Request,
    session: SessionDep,
    operator: OpsOperatorDep,
    background: BackgroundTasks,
) -> BiometricUpdateView:
    view = updates.decide(
        session=session,
        reference=reference,
        supervisor_id=operator.id,
        approve=body.decision == "approve",
        reason=body.reason,
    )
    background.add_task(request.app.state.indexes.catch_up)
    return view


@ops_router.post(
    "/case-workers/approvals",
    response_model=CaseWorkerApprovalView,
    status_code=201,
    dependencies=[JSON],
    summary="An ops supervisor approves registering a case worker's fingers in a region",
)
def approve_case_worker(
    body: CaseWorkerApprovalRequest, request: Request, session: SessionDep, operator: OpsOperatorDep
) -> CaseWorkerApprovalView:
    return case_workers.approve(
        session=session,
        operator_id=body.operator_id,
        region=body.region,
        supervisor_id=operator.id,
        hours=request.app.state.identity_settings.case_worker_approval_hours,
        now=utcnow(),
    )


@ops_router.post(
    "/fallbacks/{verification}/cash-out",
    response_model=CashOutApprovalView,
    status_code=201,
    dependencies=[JSON],
    summary="A supervisor lets a supervised fallback's token be paid as cash-out at the agent",
)
def approve_cash_out(
    verification: str, body: CashOutApprovalRequest, session: SessionDep, operator: OpsOperatorDep
) -> CashOutApprovalView:
    return approvals.approve_cash_out(
        session=session, verification=verification, supervisor_id=operator.id, reason=body.reason
    )


@ops_router.get("/anomalies", response_model=list[AlertView])
def list_alerts(
    session: SessionDep,
    operator: OpsOperatorDep,
    days: int = Query(default=7, ge=1, le=366),
    kind: AlertKind | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=10_000_000),
) -> list[AlertView]:
    """Terminals whose out-of-region payouts, biometric updates, fallbacks or failed attempts
    jumped above their baseline in the last `days` days, newest first."""
    return approvals.list_alerts(
        session=session, days=days, kind=kind, limit=limit, offset=offset, now=utcnow()
    )
