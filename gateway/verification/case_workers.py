"""Case workers (pendamping): registered with their own fingers, authenticated by them.

A supervised fallback releases money without the beneficiary's biometrics, so the person
vouching must prove who they are biometrically, not just hold a device or a password. And
since a terminal that could register fingers for a case worker could vouch for anyone,
registration takes three parties: an ops supervisor's approval (an operator-signed request
naming the case worker and their region), the case worker's own operator key signing this
very request, and the terminal whose capture device seals the fingers.
"""

from __future__ import annotations

import datetime as dt

from cryptography.exceptions import InvalidSignature
from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.biometrics.captures import CaptureContext, read_captures
from gateway.biometrics.engine import BiometricEngine, EnrolledView, Fused
from gateway.biometrics.schemas import Captures
from gateway.crypto.envelope import open_sealed, seal
from gateway.errors import Conflict, Forbidden, NotFound, Unauthorized
from gateway.registry.references import new_reference
from gateway.terminals import repository as terminal_repository
from gateway.terminals.keys import load_public_key
from gateway.terminals.models import OperatorRole, PrincipalStatus
from gateway.trust import repository as trust_repository
from gateway.trust.models import CaseWorkerApproval
from gateway.trust.schemas import CaseWorkerApprovalView
from gateway.verification import repository
from gateway.verification.models import CaseWorker
from gateway.verification.schemas import CaseWorkerView
from matcher.fingerprint import storage as finger_storage
from matcher.fingerprint.types import MinutiaSet


class UnknownCaseWorker(NotFound):
    code = "unknown_case_worker"


class CaseWorkerInactive(Forbidden):
    code = "case_worker_inactive"


class CaseWorkerExists(Conflict):
    code = "case_worker_exists"


class CaseWorkerNotVerified(Unauthorized):
    code = "case_worker_not_verified"


class UnknownApproval(NotFound):
    code = "unknown_case_worker_approval"


class ApprovalUnusable(Forbidden):
    code = "case_worker_approval_unusable"


class CaseWorkerSignatureInvalid(Unauthorized):
    code = "case_worker_signature_invalid"


class OutOfRegion(Forbidden):
    code = "case_worker_out_of_region"


def enrolment_statement(*, approval: str, operator_id: str, terminal_id: str, nonce: str) -> bytes:
    """What the case worker signs with their operator key: this approval, at this terminal,
    in this request (its signature nonce), so the signature serves no other registration."""
    return (
        f"satupintu:case-worker-enrolment:{approval}:{operator_id}:{terminal_id}:{nonce}".encode()
    )


def _aad(reference: str, operator_id: str) -> bytes:
    return f"case_worker:{reference}:operator={operator_id}".encode()


def _view(worker: CaseWorker, positions: list[int]) -> CaseWorkerView:
    return CaseWorkerView(
        reference=worker.reference,
        operator_id=worker.operator_id,
        region=worker.region,
        active=worker.active,
        fingers=positions,
    )


def require_of_region(session: Session, *, operator_id: str, region: str) -> CaseWorker:
    """The operator's case-worker record, if they are an active case worker of `region`."""
    worker = repository.case_worker_by_operator(session, operator_id)
    if worker is None or not worker.active or worker.region != region:
        raise OutOfRegion("Only an active case worker of the person's home region may do this.")
    return worker


def approve(
    *, session: Session, operator_id: str, region: str, supervisor_id: str, hours: int,
    now: dt.datetime,
) -> CaseWorkerApprovalView:  # fmt: skip
    """An ops supervisor approves registering one case worker's fingers in one region."""
    operator = terminal_repository.get_operator(session, operator_id)
    if operator is None or operator.role != OperatorRole.case_worker:
        raise UnknownCaseWorker("No operator with the case worker role has this id.")
    if operator.status != PrincipalStatus.active:
        raise CaseWorkerInactive("This case worker's operator account is not active.")
    approval = CaseWorkerApproval(
        reference=new_reference("cwa"),
        operator_id=operator_id,
        region=region,
        supervisor_id=supervisor_id,
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    trust_repository.add(session, approval)
    append(
        session=session,
        kind=AuditKind.operator,
        actor=f"operator:{supervisor_id}",
        subject=f"operator:{operator_id}",
        data={"event": "case_worker_approved", "approval": approval.reference, "region": region},
    )
    return CaseWorkerApprovalView(
        reference=approval.reference,
        operator_id=operator_id,
        region=region,
        supervisor=supervisor_id,
        expires_at=approval.expires_at,
    )


def register(
    *,
    session: Session,
    operator_id: str,
    approval: str,
    operator_signature: bytes,
    captures: Captures,
    ctx: CaptureContext,
    min_quality: int,
    now: dt.datetime,
) -> CaseWorkerView:
    """Enroll a case worker's fingers at a service point terminal of their region, under a
    supervisor's unused approval and the case worker's own signature of this request."""
    row = trust_repository.approval_by_reference(session, approval)
    if row is None or row.operator_id != operator_id:
        raise UnknownApproval("No supervisor's approval for this case worker has this reference.")
    if row.used_at is not None or row.expires_at <= now:
        raise ApprovalUnusable("This approval has been used or has expired; ask for a new one.")
    operator = terminal_repository.get_operator(session, operator_id)
    if operator is None or operator.role != OperatorRole.case_worker:
        raise UnknownCaseWorker("No operator with the case worker role has this id.")
    if operator.status != PrincipalStatus.active:
        raise CaseWorkerInactive("This case worker's operator account is not active.")
    statement = enrolment_statement(
        approval=approval, operator_id=operator_id, terminal_id=ctx.terminal.id,
        nonce=ctx.terminal.nonce,
    )  # fmt: skip
    try:
        load_public_key(operator.public_key).verify(operator_signature, statement)
    except InvalidSignature:
        raise CaseWorkerSignatureInvalid(
            "The case worker's signature of this registration does not verify."
        ) from None
    if ctx.terminal.region != row.region:
        raise OutOfRegion("Case workers are registered at a terminal of the approved region.")
    if repository.case_worker_by_operator(session, operator_id) is not None:
        raise CaseWorkerExists("This case worker is already registered.")
    samples, _ = read_captures(captures, ctx=ctx, min_quality=min_quality, required=("finger",))
    fingers = [s.template for s in samples if isinstance(s.template, MinutiaSet)]
    reference = new_reference("cw")
    worker = CaseWorker(
        reference=reference,
        operator_id=operator_id,
        region=row.region,
        active=True,
        envelope=seal(finger_storage.dumps(fingers), aad=_aad(reference, operator_id)),
    )
    repository.add_case_worker(session, worker)
    row.used_at = now
    append(
        session=session,
        kind=AuditKind.operator,
        actor=f"terminal:{ctx.terminal.id}",
        subject=f"operator:{operator_id}",
        data={
            "event": "case_worker_registered",
            "case_worker": reference,
            "approval": approval,
            "supervisor": row.supervisor_id,
            "region": row.region,
        },
    )
    return _view(worker, [f.finger_position for f in fingers])


def authenticate(
    *,
    session: Session,
    engine: BiometricEngine,
    reference: str,
    captures: Captures,
    ctx: CaptureContext,
    min_quality: int,
    target_fmr: float,
) -> tuple[CaseWorker, Fused]:
    """The case worker, proven by a live finger match against their registered fingers."""
    worker = repository.case_worker_by_reference(session, reference)
    if worker is None:
        raise UnknownCaseWorker("No case worker has this reference.")
    operator = terminal_repository.get_operator(session, worker.operator_id)
    if not worker.active or operator is None or operator.status != PrincipalStatus.active:
        # The operator account is read now: a revoked or suspended case worker vouches for
        # no one, whatever their fingers say.
        raise CaseWorkerInactive("This case worker is not active.")
    samples, _ = read_captures(captures, ctx=ctx, min_quality=min_quality, required=("finger",))
    enrolled = {
        ms.finger_position: EnrolledView(engine.prepare("finger", ms), ms.extractor)
        for ms in finger_storage.loads(
            open_sealed(bytes(worker.envelope), aad=_aad(worker.reference, worker.operator_id))
        )
    }
    comparisons = [
        engine.compare_enrolled(s, enrolled[s.position])
        for s in samples
        if s.modality == "finger" and s.position in enrolled
    ]
    if not comparisons:
        raise CaseWorkerNotVerified("None of the case worker's captured fingers is registered.")
    fused = engine.fuse(comparisons)
    if fused.fmr > target_fmr:
        raise CaseWorkerNotVerified("The case worker's fingers do not match their registration.")
    return worker, fused
