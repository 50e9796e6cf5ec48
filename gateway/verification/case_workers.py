"""Case workers (pendamping): registered with their own fingers, authenticated by them.

A supervised fallback releases money without the beneficiary's biometrics, so the person
vouching must prove who they are biometrically, not just hold a device or a password.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.crypto.envelope import open_sealed, seal
from gateway.enrollment.captures import CaptureContext, read_captures
from gateway.enrollment.engine import BiometricEngine, Fused
from gateway.enrollment.schemas import Captures
from gateway.errors import Conflict, Forbidden, NotFound, Unauthorized
from gateway.registry.references import new_reference
from gateway.terminals import repository as terminal_repository
from gateway.terminals.models import OperatorRole, PrincipalStatus
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


def register(
    *,
    session: Session,
    operator_id: str,
    captures: Captures,
    ctx: CaptureContext,
    min_quality: int,
) -> CaseWorkerView:
    """Enroll a case-worker operator's fingers at a service point terminal."""
    operator = terminal_repository.get_operator(session, operator_id)
    if operator is None or operator.role != OperatorRole.case_worker:
        raise UnknownCaseWorker("No operator with the case worker role has this id.")
    if operator.status != PrincipalStatus.active:
        raise CaseWorkerInactive("This case worker's operator account is not active.")
    if repository.case_worker_by_operator(session, operator_id) is not None:
        raise CaseWorkerExists("This case worker is already registered.")
    samples, _ = read_captures(captures, ctx=ctx, min_quality=min_quality, required=("finger",))
    fingers = [s.template for s in samples if isinstance(s.template, MinutiaSet)]
    reference = new_reference("cw")
    worker = CaseWorker(
        reference=reference,
        operator_id=operator_id,
        region=ctx.terminal.region,
        active=True,
        envelope=seal(finger_storage.dumps(fingers), aad=_aad(reference, operator_id)),
    )
    repository.add_case_worker(session, worker)
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
    if not worker.active:
        raise CaseWorkerInactive("This case worker is not active.")
    samples, _ = read_captures(captures, ctx=ctx, min_quality=min_quality, required=("finger",))
    enrolled = {
        ms.finger_position: engine.prepare("finger", ms)
        for ms in finger_storage.loads(
            open_sealed(bytes(worker.envelope), aad=_aad(worker.reference, worker.operator_id))
        )
    }
    comparisons = [
        engine.compare(
            "finger", s.label, engine.prepare("finger", s.template), enrolled[s.position]
        )
        for s in samples
        if s.modality == "finger" and s.position in enrolled
    ]
    if not comparisons:
        raise CaseWorkerNotVerified("None of the case worker's captured fingers is registered.")
    fused = engine.fuse(comparisons)
    if fused.fmr > target_fmr:
        raise CaseWorkerNotVerified("The case worker's fingers do not match their registration.")
    return worker, fused
