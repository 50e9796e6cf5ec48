"""Enrollment at a service point (terminal-signed) and the adjudication queue (case workers)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request

from gateway.biometrics.context import capture_context
from gateway.deps import SessionDep
from gateway.enrollment import service
from gateway.enrollment.schemas import (
    AdjudicationDecision,
    AdjudicationView,
    EnrollmentRequest,
    EnrollmentResult,
)
from gateway.media import JSON
from gateway.terminals.auth import CaseWorkerDep, TerminalDep

router = APIRouter(tags=["enrollment"])


@router.post(
    "/v1/enrollments",
    response_model=EnrollmentResult,
    status_code=201,
    dependencies=[JSON],
    summary="Enroll a registered person's fingers and/or irises (de-duplicated 1:N first)",
)
def create_enrollment(
    body: EnrollmentRequest,
    request: Request,
    session: SessionDep,
    terminal: TerminalDep,
    background: BackgroundTasks,
) -> EnrollmentResult:
    state = request.app.state
    state.indexes.catch_up()  # before this request's transaction begins
    result = service.enroll(
        session=session,
        engine=state.biometrics,
        indexes=state.indexes,
        request=body,
        ctx=capture_context(request, session, terminal),
        min_quality=state.identity_settings.enroll_min_quality,
        duplicate_target_fpir=state.identity_settings.duplicate_target_fpir,
        update_target_fmr=state.identity_settings.verify_target_fmr,
        anomaly=state.identity_settings.anomaly_policy(),
        keep_captures=state.identity_settings.keep_finger_captures,
    )
    # Runs after the request's transaction committed: the new templates become searchable.
    background.add_task(state.indexes.catch_up)
    return result


@router.get(
    "/v1/adjudications",
    response_model=list[AdjudicationView],
    summary="Enrollments held as suspected duplicates",
)
def list_adjudications(
    session: SessionDep,
    operator: CaseWorkerDep,
    status: Literal["open", "decided"] | None = Query(default="open"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=10_000_000),
) -> list[AdjudicationView]:
    return service.list_adjudications(session=session, status=status, limit=limit, offset=offset)


@router.get("/v1/adjudications/{reference}", response_model=AdjudicationView)
def get_adjudication(
    reference: str, session: SessionDep, operator: CaseWorkerDep
) -> AdjudicationView:
    return service.get_adjudication(session=session, reference=reference)


@router.post(
    "/v1/adjudications/{reference}",
    response_model=AdjudicationView,
    dependencies=[JSON],
    summary="Decide: same person (merge or refuse) or different people (enroll)",
)
def decide_adjudication(
    reference: str,
    body: AdjudicationDecision,
    request: Request,
    session: SessionDep,
    operator: CaseWorkerDep,
    background: BackgroundTasks,
) -> AdjudicationView:
    view = service.decide(
        session=session,
        reference=reference,
        decision=body.decision,
        candidate=body.candidate,
        reason=body.reason,
        adjudicator=operator.id,
    )
    background.add_task(request.app.state.indexes.catch_up)
    return view
