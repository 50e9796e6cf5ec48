"""Verification (terminal-signed), lockout management and case worker registration."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Query, Request

from gateway.db import unit_of_work, utcnow
from gateway.deps import SessionDep
from gateway.enrollment.captures import CaptureRejected
from gateway.enrollment.endpoints import JSON, capture_context
from gateway.errors import GatewayError
from gateway.registry.service import find_person
from gateway.terminals.auth import CaseWorkerDep, TerminalDep, check_person_rate
from gateway.verification import case_workers, lockout, service
from gateway.verification.schemas import (
    CaseWorkerRequest,
    CaseWorkerView,
    LockoutView,
    UnlockRequest,
    VerifyRequest,
    VerifyResult,
)

router = APIRouter(tags=["verification"])


@router.post(
    "/v1/verify",
    response_model=VerifyResult,
    dependencies=[JSON],
    summary="Verify a person: 1:1 (NIK), 1:N (cardless), ektp (card + live) or fallback",
    responses={423: {"description": "The NIK is locked after repeated failures"}},
)
def verify(body: VerifyRequest, request: Request, terminal: TerminalDep) -> VerifyResult:
    # The signed Content-Digest and the request's unique nonce identify this very request.
    binding = f"{terminal.nonce}\n{request.headers.get('content-digest', '')}"
    digest = hashlib.sha256(binding.encode()).hexdigest()
    state = request.app.state
    if body.mode == "1:N":
        state.indexes.catch_up()  # before this request's transaction begins
    try:
        captured = service.prepare_captures(
            session_factory=state.session_factory,
            engine=state.biometrics,
            request=body,
            ctx_for=lambda session: capture_context(request, session, terminal),
            min_quality=state.identity_settings.verify_min_quality,
        )
    except CaptureRejected:
        _record_refusal(request, body, terminal, "capture_rejected")
        raise
    with unit_of_work(state.session_factory) as session:
        try:
            return service.verify(
                session=session,
                engine=state.biometrics,
                indexes=state.indexes,
                request=body,
                ctx=capture_context(request, session, terminal),
                settings=state.identity_settings,
                request_digest=digest,
                check_person_rate=lambda key: check_person_rate(request, key),
                captured=captured,
            )
        except lockout.Locked:
            session.rollback()
            _record_refusal(request, body, terminal, "locked")
            raise


def _record_refusal(
    request: Request, body: VerifyRequest, terminal: TerminalDep, outcome: str
) -> None:
    """A refused attempt (locked NIK, unusable captures) is still a verification: record it
    in its own transaction (the request's own is rolled back)."""
    with unit_of_work(request.app.state.session_factory) as session:
        try:
            person = find_person(session=session, nik=body.nik) if body.nik else None
        except GatewayError:  # an unknown or malformed NIK: recorded without a person
            person = None
        service.record_refusal(
            session=session,
            request=body,
            terminal_id=terminal.id,
            terminal_region=terminal.region,
            person_id=person.id if person is not None else None,
            outcome=outcome,
        )


@router.get("/v1/ops/lockouts", response_model=list[LockoutView], tags=["operations"])
def list_lockouts(
    session: SessionDep,
    operator: CaseWorkerDep,
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=10_000_000),
) -> list[LockoutView]:
    return lockout.list_open(session=session, limit=limit, offset=offset)


@router.post(
    "/v1/ops/lockouts/{reference}/unlock",
    response_model=LockoutView,
    dependencies=[JSON],
    tags=["operations"],
    summary="A case worker lifts a lockout, with a reason (audited)",
)
def unlock(
    reference: str, body: UnlockRequest, session: SessionDep, operator: CaseWorkerDep
) -> LockoutView:
    return lockout.unlock(
        session=session,
        reference=reference,
        operator_id=operator.id,
        reason=body.reason,
        now=utcnow(),
    )


@router.post(
    "/v1/case-workers",
    response_model=CaseWorkerView,
    status_code=201,
    dependencies=[JSON],
    summary="Register a case worker's fingers at a service point terminal",
)
def register_case_worker(
    body: CaseWorkerRequest, request: Request, session: SessionDep, terminal: TerminalDep
) -> CaseWorkerView:
    return case_workers.register(
        session=session,
        operator_id=body.operator_id,
        captures=body,
        ctx=capture_context(request, session, terminal),
        min_quality=request.app.state.identity_settings.enroll_min_quality,
    )
