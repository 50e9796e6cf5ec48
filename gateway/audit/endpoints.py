"""Read side of the audit log for auditors: entries about a subject, and a chain check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.audit import service
from gateway.deps import SessionDep
from gateway.terminals.auth import require_role
from gateway.terminals.identity import AuthenticatedOperator
from gateway.terminals.models import OperatorRole

router = APIRouter(tags=["audit"])
AuditReader = Annotated[AuthenticatedOperator, require_role(OperatorRole.auditor, OperatorRole.ops)]


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor: str
    subject: str
    data: dict[str, Any]
    mac: str


class ChainStatus(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_mac: str
    broken_seq: int | None
    reason: str | None


@router.get("/v1/ops/audit", summary="Audit entries about one subject, newest first")
def entries(
    subject: Annotated[str, Query(max_length=128, examples=["terminal:T-3201-0001"])],
    reader: AuditReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    rows = service.entries_about(session=session, subject=subject, limit=limit)
    return [
        AuditEntryOut(
            seq=r.seq,
            at=r.at,
            kind=r.kind,
            actor=r.actor,
            subject=r.subject,
            data=r.data,
            mac=bytes(r.mac).hex(),
        )
        for r in rows
    ]


@router.get("/v1/ops/audit/verify", summary="Recompute the whole chain (as `audit verify`)")
def verify(reader: AuditReader, session: SessionDep) -> ChainStatus:
    result = service.verify_chain(session=session)
    return ChainStatus(
        ok=result.ok,
        entries=result.entries,
        head_seq=result.head_seq,
        head_mac=result.head_mac,
        broken_seq=result.broken_seq,
        reason=result.reason,
    )
