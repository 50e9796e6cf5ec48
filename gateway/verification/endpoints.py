"""Verification (terminal-signed), lockout management and case worker registration."""

from __future__ import annotations

import hashlib

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from gateway.biometrics.captures import CaptureRejected
from gateway.biometrics.context import capture_context
from gateway.biometrics.sealed import CachedDevices
from gateway.db import read_snapshot, unit_of_work, utcnow
from gateway.deps import SessionDep
from gateway.errors import GatewayError
from gateway.media import JSON
from gateway.registry.service import find_person
from gateway.terminals.auth import CaseWorkerDep, SignedTerminalDep, TerminalDep, check_person_rate
from gateway.terminals.deferred import SignedTerminalRequest
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.verification import case_workers, lockout, recording, service
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
async def verify(body: VerifyRequest, request: Request, signed: SignedTerminalDep) -> Response:
    """Decided on a worker thread, at most `verify_threads` at once in this process.

    Verification is CPU work in Python, so threads beyond that only take turns at the GIL:
    measured with 4 verifications in flight in one process, letting all of them run at once
    cost ~15% more CPU a verification than running one at a time (see `verify_threads`).
    """
    return await anyio.to_thread.run_sync(
        _verify, body, request, signed, limiter=request.app.state.verify_limiter
    )


def _verify(body: VerifyRequest, request: Request, signed: SignedTerminalRequest) -> Response:
    """Three steps, so SQLite's write lock (and PostgreSQL's audit head) is held only for the
    writes: captures opened and prepared with no transaction open; terminal, devices and
    person read and compared in a read snapshot; then one write transaction re-checks what
    may have changed and records the decision. The nonce was spent before the route ran."""
    terminal = signed.terminal
    # The signed Content-Digest and the request's unique nonce identify this very request.
    binding = f"{terminal.nonce}\n{request.headers.get('content-digest', '')}"
    digest = hashlib.sha256(binding.encode()).hexdigest()
    state = request.app.state
    factory = state.session_factory
    if body.mode == "1:N":
        state.indexes.catch_up()  # before this request's snapshot begins
    devices = CachedDevices(state.principal_cache, factory, terminal.id)
    refused: GatewayError | None = None
    captured = None
    try:
        captured = service.prepare_captures(
            engine=state.biometrics,
            request=body,
            ctx=capture_context(request, None, terminal, devices),
            min_quality=state.identity_settings.verify_min_quality,
        )
    except GatewayError as exc:
        refused = exc
    with read_snapshot(factory) as session:
        signed.check(session, devices)  # the terminal's own refusals come first
        if refused is None:
            try:
                decision = service.decide(
                    session=session,
                    engine=state.biometrics,
                    indexes=state.indexes,
                    request=body,
                    ctx=capture_context(request, session, terminal),
                    settings=state.identity_settings,
                    check_person_rate=lambda key: check_person_rate(request, key),
                    captured=captured,
                )
            except GatewayError as exc:
                refused = exc
    if refused is not None:
        # The nonce is spent either way; unusable captures and locked NIKs are recorded.
        with unit_of_work(factory) as session:
            _record_refusal(session, body, terminal, refused)
        raise refused
    try:
        with unit_of_work(factory) as session:
            result = recording.record(
                session=session,
                decision=decision,
                ctx=capture_context(request, session, terminal),
                settings=state.identity_settings,
                request_digest=digest,
            )
    except lockout.Locked as exc:
        with unit_of_work(factory) as session:
            _record_refusal(session, body, terminal, exc)
        raise
    # Built and validated by the service already: sent as is, not validated a second time.
    return Response(result.model_dump_json(), media_type="application/json")


def _record_refusal(
    session: Session, body: VerifyRequest, terminal: AuthenticatedTerminal, refused: GatewayError
) -> None:
    """A refused attempt (locked NIK, unusable captures) is still a verification: recorded in
    a write transaction of its own (the request's own rolled back or never began). Other
    refusals (unknown NIK, not enrolled, ...) leave only the spent nonce."""
    if isinstance(refused, CaptureRejected):
        outcome = "capture_rejected"
    elif isinstance(refused, lockout.Locked):
        outcome = "locked"
    else:
        return
    try:
        person = find_person(session=session, nik=body.nik) if body.nik else None
    except GatewayError:  # an unknown or malformed NIK: recorded without a person
        person = None
    recording.record_refusal(
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
    summary="Register a case worker's fingers: supervisor-approved, signed by the case worker",
)
def register_case_worker(
    body: CaseWorkerRequest, request: Request, session: SessionDep, terminal: TerminalDep
) -> CaseWorkerView:
    return case_workers.register(
        session=session,
        operator_id=body.operator_id,
        approval=body.approval,
        operator_signature=bytes(body.operator_signature),
        captures=body,
        ctx=capture_context(request, session, terminal),
        min_quality=request.app.state.identity_settings.enroll_min_quality,
        now=utcnow(),
    )
