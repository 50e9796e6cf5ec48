"""Supervisors' exceptions to policy, and the alerts ops reads: each one visible and audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.audit.service import append
from gateway.errors import Conflict, NotFound
from gateway.trust import repository
from gateway.trust.anomalies import AlertKind
from gateway.trust.models import CashOutApproval
from gateway.trust.schemas import AlertView, CashOutApprovalView


class UnknownFallback(NotFound):
    code = "unknown_fallback"


class CashOutAlreadyApproved(Conflict):
    code = "cash_out_already_approved"


def approve_cash_out(
    *, session: Session, verification: str, supervisor_id: str, reason: str
) -> CashOutApprovalView:
    """Let one supervised fallback's (unspent or not) token be paid as cash-out."""
    record = repository.verification_by_reference(session, verification)
    if record is None or not record.fallback or record.token_id is None:
        raise UnknownFallback("No supervised fallback that issued a token has this reference.")
    if repository.cash_out_approval(session, record.token_id) is not None:
        raise CashOutAlreadyApproved("Cash-out of this fallback is already approved.")
    approval = CashOutApproval(token_id=record.token_id, supervisor_id=supervisor_id, reason=reason)
    repository.add(session, approval)
    append(
        session=session,
        kind="fallback_cash_out",
        actor=f"operator:{supervisor_id}",
        subject=f"verification:{verification}",
        data={"terminal": record.terminal_id},
    )
    return CashOutApprovalView(
        verification=verification, supervisor=supervisor_id, created_at=approval.created_at
    )


def list_alerts(
    *,
    session: Session,
    days: int,
    kind: AlertKind | None,
    limit: int,
    offset: int,
    now: dt.datetime,
) -> list[AlertView]:
    since = (now - dt.timedelta(days=days - 1)).date()
    return [
        AlertView(
            terminal=a.terminal_id,
            kind=a.kind,
            day=a.day,
            count=a.count,
            baseline=a.baseline,
            created_at=a.created_at,
        )
        for a in repository.alerts(session, since=since, kind=kind, limit=limit, offset=offset)
    ]
