"""Console pages: each route checks the role, calls one service and renders its template."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.console import accounts, dashboard, evidence, repository
from gateway.console.web import (
    COOKIE,
    EVERYONE,
    PRE_SIGN_IN_COOKIE,
    PREFIX,
    Auditor,
    CaseWorker,
    FormDep,
    OperatorDep,
    Ops,
    ReadSessionDep,
    Supervisor,
    act,
    render,
    require,
)
from gateway.db import utcnow
from gateway.deps import SessionDep, SettingsDep
from gateway.enrollment import service as enrollment
from gateway.errors import InvalidInput, NotFound
from gateway.payouts import reconciliation, review
from gateway.terminals import service as terminals
from gateway.terminals.models import PrincipalStatus
from gateway.trust import approvals
from gateway.verification import lockout

router = APIRouter(prefix=PREFIX, include_in_schema=False, default_response_class=HTMLResponse)

REVIEWERS = (Ops, Supervisor, Auditor)
ADJUDICATORS = (CaseWorker, Supervisor)


def _reason(form: dict[str, str], field: str = "reason", low: int = 10, high: int = 1000) -> str:
    value = form.get(field, "").strip()
    if not low <= len(value) <= high:
        raise InvalidInput(f"The {field} must have {low} to {high} characters.")
    return value


# -- signing in ------------------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    """The form carries a random token also set as a cookie (double submit): a forged
    cross-site sign-in cannot read the cookie to copy it."""
    token = secrets.token_urlsafe(32)
    response = render(request, "sign_in.html", None, csrf=token, refusal=None)
    _set_cookie(request, response, PRE_SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    operator_id: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    expected = request.cookies.get(PRE_SIGN_IN_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf, expected):
        return render(request, "sign_in.html", None, status=403, csrf=expected, refusal="csrf")
    result = accounts.sign_in(
        session=session,
        operator_id=operator_id,
        password=password,
        now=utcnow(),
        attempts=settings.console_sign_in_attempts,
        lockout=dt.timedelta(minutes=settings.console_lockout_minutes),
        lifetime=dt.timedelta(minutes=settings.console_session_minutes),
    )
    if result.token is None:
        status = 423 if result.refusal == "locked" else 401
        return render(
            request, "sign_in.html", None, status=status, csrf=expected, refusal=result.refusal
        )
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    _set_cookie(
        request, response, COOKIE, result.token, max_age=settings.console_session_minutes * 60
    )
    response.delete_cookie(PRE_SIGN_IN_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
    Secure whenever the console is reached over TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.post("/sign-out")
def sign_out(
    request: Request, session: SessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    accounts.sign_out(session=session, token=request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


@router.post("/language")
def choose_language(
    request: Request, session: SessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    return act(
        request,
        session,
        operator,
        lambda: accounts.set_language(
            session=session, operator_id=operator.id, language=form.get("language", "")
        ),
        back_to=form.get("back", f"{PREFIX}/")
        if form.get("back", "").startswith(PREFIX)
        else f"{PREFIX}/",
    )


# -- payout day ------------------------------------------------------------------------------


def _board(request: Request, session: Session) -> dashboard.Dashboard:
    state = request.app.state
    return dashboard.snapshot(
        session=session,
        window=state.console_window,
        register=state.console_register,
        now=utcnow(),
    )


@router.get("/")
def dashboard_page(
    request: Request, session: ReadSessionDep, operator: OperatorDep, settings: SettingsDep
) -> Response:
    require(operator, EVERYONE)
    board = _board(request, session)
    return render(
        request, "dashboard.html", operator, board=board, refresh=settings.console_refresh_seconds
    )


@router.get("/dashboard/live")
def dashboard_live(request: Request, session: ReadSessionDep, operator: OperatorDep) -> Response:
    """The live part alone, an HTML fragment the page's own script swaps in."""
    require(operator, EVERYONE)
    board = _board(request, session)
    return render(request, "_dashboard_live.html", operator, board=board)


# -- adjudication ----------------------------------------------------------------------------


@router.get("/adjudications")
def adjudications_page(
    request: Request, session: ReadSessionDep, operator: OperatorDep
) -> Response:
    require(operator, ADJUDICATORS)
    cases = enrollment.list_adjudications(session=session, status="open", limit=100, offset=0)
    return render(request, "adjudications.html", operator, cases=cases)


@router.get("/adjudications/{reference}")
def adjudication_page(
    reference: str, request: Request, session: ReadSessionDep, operator: OperatorDep
) -> Response:
    require(operator, ADJUDICATORS)
    case = enrollment.get_adjudication(session=session, reference=reference)
    return render(
        request,
        "adjudication.html",
        operator,
        case=case,
        probe=evidence.of_enrollment(session, case.enrollment),
        candidate_evidence={
            c.person: evidence.of_person(session, c.person) for c in case.candidates
        },
    )


@router.post("/adjudications/{reference}")
def decide_adjudication(
    reference: str,
    request: Request,
    session: SessionDep,
    operator: OperatorDep,
    form: FormDep,
    background: BackgroundTasks,
) -> Response:
    require(operator, (CaseWorker,))
    # One radio group: `merge:<candidate>`, `refuse:` or `enroll:`.
    decision, _, chosen = form.get("decision_choice", "").partition(":")
    candidate = chosen or None

    def decide() -> object:
        if decision not in ("merge", "refuse", "enroll"):
            raise InvalidInput("Choose same person (merge or refuse) or different people.")
        return enrollment.decide(
            session=session,
            reference=reference,
            decision=decision,
            candidate=candidate,
            reason=_reason(form),
            adjudicator=operator.id,
        )

    # After the commit, the decided person's templates become searchable (or leave the index).
    background.add_task(request.app.state.indexes.catch_up)
    return act(request, session, operator, decide, back_to=f"{PREFIX}/adjudications")


# -- payouts in review -------------------------------------------------------------------------


@router.get("/payouts/review")
def review_page(request: Request, session: ReadSessionDep, operator: OperatorDep) -> Response:
    require(operator, REVIEWERS)
    return render(request, "review.html", operator, payouts=review.in_review(session=session))


@router.get("/payouts/review/{reference}")
def review_case_page(
    reference: str,
    request: Request,
    session: ReadSessionDep,
    operator: OperatorDep,
    settings: SettingsDep,
) -> Response:
    require(operator, REVIEWERS)
    case = review.case(session=session, reference=reference)
    statement_lines = [
        (report["summary"], finding)
        for report in reconciliation.read_reports(settings.data_dir / "reconciliation", limit=30)
        for finding in report["findings"]  # type: ignore[attr-defined]
        if finding.get("reference") == reference
    ]
    return render(
        request,
        "review_case.html",
        operator,
        case=case,
        statement_lines=statement_lines,
        awaiting=any(r.status == "awaiting" for r in case.resolutions),
        second_signature_above=settings.payout_review_second_signature_rupiah,
    )


@router.post("/payouts/review/{reference}/resolve")
def resolve_review(
    reference: str,
    request: Request,
    session: SessionDep,
    operator: OperatorDep,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    require(operator, (Ops,))
    decision = form.get("decision", "")

    def resolve() -> object:
        if decision not in ("commit", "void"):
            raise InvalidInput("The decision is commit or void.")
        return review.resolve(
            session=session,
            reference=reference,
            decision=decision,  # type: ignore[arg-type]
            reason=_reason(form),
            evidence=_reason(form, "evidence", 1, 200),
            operator=f"operator:{operator.id}",
            now=request.app.state.payouts.clock(),
            second_signature_above=settings.payout_review_second_signature_rupiah,
        )

    return act(request, session, operator, resolve, back_to=f"{PREFIX}/payouts/review/{reference}")


@router.post("/payouts/review/{reference}/approve")
def approve_review(
    reference: str, request: Request, session: SessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    require(operator, (Supervisor,))
    runtime = request.app.state.payouts
    return act(
        request,
        session,
        operator,
        lambda: review.approve(
            session=session,
            reference=reference,
            supervisor=f"operator:{operator.id}",
            now=runtime.clock(),
            adapters=runtime.adapters,
        ),
        back_to=f"{PREFIX}/payouts/review/{reference}",
    )


# -- lockouts and supervised fallback ----------------------------------------------------------


@router.get("/lockouts")
def lockouts_page(request: Request, session: ReadSessionDep, operator: OperatorDep) -> Response:
    require(operator, (CaseWorker, Supervisor, Ops))
    return render(
        request,
        "lockouts.html",
        operator,
        lockouts=lockout.list_open(session=session, limit=200, offset=0),
        fallbacks=repository.recent_fallbacks(session, limit=50),
    )


@router.post("/lockouts/{reference}/unlock")
def unlock(
    reference: str, request: Request, session: SessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    require(operator, (CaseWorker,))
    return act(
        request,
        session,
        operator,
        lambda: lockout.unlock(
            session=session,
            reference=reference,
            operator_id=operator.id,
            reason=_reason(form),
            now=utcnow(),
        ),
        back_to=f"{PREFIX}/lockouts",
    )


@router.post("/fallbacks/{verification}/cash-out")
def approve_cash_out(
    verification: str, request: Request, session: SessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    require(operator, (Supervisor, Ops))
    return act(
        request,
        session,
        operator,
        lambda: approvals.approve_cash_out(
            session=session,
            verification=verification,
            supervisor_id=operator.id,
            reason=_reason(form),
        ),
        back_to=f"{PREFIX}/lockouts",
    )


# -- terminals and devices ---------------------------------------------------------------------


@router.get("/terminals")
def terminals_page(
    request: Request,
    session: ReadSessionDep,
    operator: OperatorDep,
    status: Annotated[PrincipalStatus | None, Query()] = None,
) -> Response:
    require(operator, REVIEWERS)
    rows = terminals.list_terminals(session=session, status=status, limit=500)
    return render(request, "terminals.html", operator, terminals=rows, shown=status)


@router.get("/terminals/{terminal_id}")
def terminal_page(
    terminal_id: str, request: Request, session: ReadSessionDep, operator: OperatorDep
) -> Response:
    require(operator, REVIEWERS)
    terminal = terminals.get_terminal(session=session, terminal_id=terminal_id)
    return render(
        request,
        "terminal.html",
        operator,
        terminal=terminal,
        region=terminal.province_code + terminal.regency_code,
        devices=terminals.list_devices(session=session, terminal_id=terminal_id),
        refusals=repository.recent_refusals(session, terminal_id, limit=50),
        history=audit.entries_about(session=session, subject=f"terminal:{terminal_id}", limit=20),
    )


@router.post("/devices/{device_id}/revoke")
def revoke_device(
    device_id: str, request: Request, session: SessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    require(operator, (Ops,))
    terminal_id = form.get("terminal", "")
    return act(
        request,
        session,
        operator,
        lambda: terminals.set_device_status(
            session=session,
            device_id=device_id,
            status=PrincipalStatus.revoked,
            actor=f"operator:{operator.id}",
        ),
        back_to=f"{PREFIX}/terminals/{terminal_id}" if terminal_id else f"{PREFIX}/terminals",
    )


# -- reconciliation ------------------------------------------------------------------------------


@router.get("/reconciliation")
def reconciliation_page(
    request: Request, session: ReadSessionDep, operator: OperatorDep, settings: SettingsDep
) -> Response:
    require(operator, REVIEWERS)
    reports = reconciliation.read_reports(settings.data_dir / "reconciliation", limit=10)
    banks = sorted(request.app.state.payouts.adapters)
    return render(request, "reconciliation.html", operator, reports=reports, banks=banks)


@router.post("/reconciliation")
def run_reconciliation(
    request: Request,
    session: SessionDep,
    operator: OperatorDep,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    require(operator, (Ops,))
    runtime = request.app.state.payouts

    def run() -> object:
        adapter = runtime.adapters.get(form.get("bank", ""))
        if adapter is None:
            raise NotFound("No bank adapter is configured for this bank.")
        try:
            day = dt.date.fromisoformat(form.get("day", ""))
        except ValueError:
            raise InvalidInput("The day is a date (YYYY-MM-DD).") from None
        report = reconciliation.reconcile(
            session=session, adapter=adapter, day=day, resolve_at=runtime.clock()
        )
        return reconciliation.write_report(report, settings.data_dir / "reconciliation")

    return act(request, session, operator, run, back_to=f"{PREFIX}/reconciliation")


# -- audit ---------------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request,
    session: ReadSessionDep,
    operator: OperatorDep,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    subject: Annotated[str | None, Query(max_length=128)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    require(operator, (Auditor, Ops, Supervisor))
    entries = audit.browse(
        session=session, kind=kind or None, actor=actor or None, subject=subject or None,
        before=before, limit=50,
    )  # fmt: skip
    filters: dict[str, Any] = {"kind": kind or "", "actor": actor or "", "subject": subject or ""}
    return render(request, "audit.html", operator, entries=entries, filters=filters, result=None)


@router.post("/audit/verify")
def verify_audit(
    request: Request, session: ReadSessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    require(operator, (Auditor, Ops, Supervisor))
    result = audit.verify_chain(session=session)
    entries = audit.browse(session=session, limit=50)
    filters = {"kind": "", "actor": "", "subject": ""}
    return render(request, "audit.html", operator, entries=entries, filters=filters, result=result)
