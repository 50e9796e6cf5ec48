"""Payout routes: thin wrappers that validate, call one flow function and shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from adapters.base import TransferKind
from gateway.deps import SessionDep, SettingsDep
from gateway.errors import NotFound
from gateway.payouts import flow, ledger, reconciliation, review, review_views
from gateway.payouts.runtime import PayoutRuntimeDep
from gateway.payouts.schemas import (
    BalanceOut,
    EntitlementLineOut,
    EntitlementsOut,
    PayoutAccountIn,
    PayoutCreate,
    PayoutLineOut,
    PayoutOut,
    ReconciliationIn,
    ResolveIn,
    ReviewCaseOut,
    ReviewItemOut,
)
from gateway.payouts.service import line_key
from gateway.terminals.auth import OpsOperatorDep, SignedTerminalDep, TerminalDep, require_role
from gateway.terminals.identity import AuthenticatedOperator
from gateway.terminals.models import OperatorRole

SupervisorDep = Annotated[AuthenticatedOperator, require_role(OperatorRole.supervisor)]

router = APIRouter(tags=["payouts"])
ops_router = APIRouter(prefix="/v1/ops", tags=["operations: payouts"])

TokenHeader = Annotated[str, Header(alias="X-Verification-Token", min_length=10, max_length=2048)]
IdempotencyHeader = Annotated[
    str, Header(alias="Idempotency-Key", min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")
]


def _payout_out(view: flow.PayoutView) -> PayoutOut:
    payout = view.payout
    return PayoutOut(
        reference=payout.reference,
        state=payout.state,
        household=view.household_reference,
        channel=payout.channel,
        amount=payout.amount,
        lines=[PayoutLineOut.model_validate(line) for line in view.lines],
        failure_code=payout.failure_code,
        failure_reason=payout.failure_reason,
        created_at=payout.created_at,
        receipt=view.receipt_text,
    )


@router.get("/v1/entitlements", response_model=EntitlementsOut)
def get_entitlements(
    signed: SignedTerminalDep, runtime: PayoutRuntimeDep, token: TokenHeader
) -> EntitlementsOut:
    """Everything due now to the verified person's household, across programmes, with reasons."""
    view = flow.entitlements(runtime=runtime, signed=signed, token=token)
    lines = [
        EntitlementLineOut(
            key=line_key(line),
            programme=line.programme,
            component=line.component,
            subject=line.subject,
            period=line.period,
            amount=line.amount,
            reason=line.reason,
        )
        for line in view.lines
    ]
    return EntitlementsOut(
        household=view.household_reference,
        day=view.day,
        lines=lines,
        total=sum(line.amount for line in lines),
    )


@router.post(
    "/v1/payouts",
    response_model=PayoutOut,
    responses={202: {"model": PayoutOut, "description": "accepted, outcome still pending"}},
)
def create_payout(
    body: PayoutCreate,
    signed: SignedTerminalDep,
    runtime: PayoutRuntimeDep,
    idempotency_key: IdempotencyHeader,
) -> JSONResponse:
    """Pay every due entitlement once; the same Idempotency-Key always gets the same answer."""
    view = flow.pay(
        runtime=runtime,
        signed=signed,
        idempotency_key=idempotency_key,
        token=body.token,
        channel=TransferKind(body.channel),
        selection=frozenset(body.lines) if body.lines is not None else None,
    )
    status = 202 if view.payout.state in flow.IN_FLIGHT else 200
    return JSONResponse(_payout_out(view).model_dump(mode="json"), status_code=status)


@router.get("/v1/payouts/{reference}", response_model=PayoutOut)
def get_payout(reference: str, terminal: TerminalDep, session: SessionDep) -> PayoutOut:
    return _payout_out(
        flow.payout_for_terminal(session=session, terminal=terminal, reference=reference)
    )


@router.get("/v1/payouts/{reference}/receipt", response_class=PlainTextResponse)
def get_receipt(reference: str, terminal: TerminalDep, session: SessionDep) -> Response:
    """The printable slip for the beneficiary."""
    view = flow.payout_for_terminal(session=session, terminal=terminal, reference=reference)
    return PlainTextResponse(view.receipt_text)


@ops_router.put("/payout-accounts", status_code=204)
def put_payout_account(
    body: PayoutAccountIn, _: OpsOperatorDep, session: SessionDep, runtime: PayoutRuntimeDep
) -> Response:
    """Register where a household's credits or an agent's cash-out settlements land."""
    flow.register_payout_account(
        runtime=runtime,
        session=session,
        owner_kind=body.owner_kind,
        owner_id=body.owner_id,
        bank_code=body.bank_code,
        number=body.number,
        name=body.name,
    )
    return Response(status_code=204)


@ops_router.get("/ledger/balances", response_model=list[BalanceOut])
def get_balances(_: OpsOperatorDep, session: SessionDep) -> list[BalanceOut]:
    return [BalanceOut(**vars(b)) for b in ledger.balances(session=session)]


@ops_router.post("/reconciliations")
def post_reconciliation(
    body: ReconciliationIn,
    _: OpsOperatorDep,
    runtime: PayoutRuntimeDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, object]:
    """Match the bank's camt.053 statement for a day against the ledger; report every difference."""
    adapter = runtime.adapters.get(body.bank)
    if adapter is None:
        raise NotFound(f"No bank adapter is configured for {body.bank}.")
    report = reconciliation.reconcile(
        session=session, adapter=adapter, day=body.day, resolve_at=runtime.clock()
    )
    reconciliation.write_report(report, settings.data_dir / "reconciliation")
    return {
        "summary": report.summary(),
        "findings": [vars(f) for f in report.findings if f.outcome != "matched"],
    }


@ops_router.get("/payouts/review", response_model=list[ReviewItemOut])
def list_review(
    _: OpsOperatorDep, session: SessionDep, bank: str | None = None
) -> list[ReviewItemOut]:
    """Payouts waiting for a person, oldest first."""
    return [review_views.item(p) for p in review.in_review(session=session, bank_code=bank)]


@ops_router.get("/payouts/review/{reference}", response_model=ReviewCaseOut)
def show_review(reference: str, _: OpsOperatorDep, session: SessionDep) -> ReviewCaseOut:
    """One case: lines, answers that came back too late, decisions so far, audit history."""
    return review_views.case_out(review.case(session=session, reference=reference))


@ops_router.post("/payouts/review/{reference}/resolve", response_model=ReviewCaseOut)
def resolve_review(
    reference: str,
    body: ResolveIn,
    operator: OpsOperatorDep,
    session: SessionDep,
    runtime: PayoutRuntimeDep,
    settings: SettingsDep,
) -> ReviewCaseOut:
    """Commit or void with reason and evidence; above the second-signature amount the
    decision waits for a supervisor's approval, as a reversal of a paid payout always does."""
    review.resolve(
        session=session,
        reference=reference,
        decision=body.decision,
        reason=body.reason,
        evidence=body.evidence,
        operator=f"operator:{operator.id}",
        now=runtime.clock(),
        second_signature_above=settings.payout_review_second_signature_rupiah,
    )
    return review_views.case_out(review.case(session=session, reference=reference))


@ops_router.post("/payouts/review/{reference}/approve", response_model=ReviewCaseOut)
def approve_review(
    reference: str, supervisor: SupervisorDep, session: SessionDep, runtime: PayoutRuntimeDep
) -> ReviewCaseOut:
    """The supervisor's second signature on a waiting decision (never the proposer's own)."""
    review.approve(
        session=session,
        reference=reference,
        supervisor=f"operator:{supervisor.id}",
        now=runtime.clock(),
        adapters=runtime.adapters,
    )
    return review_views.case_out(review.case(session=session, reference=reference))
