"""Verification as agent terminals call it: 1:1, cardless 1:N, e-KTP, supervised fallback.

Every mode ends the same way: a decision on a calibrated, fused false match rate, a
verification record (who, where, when, outcome, scores; never a biometric), an audit entry,
and on a match a short-lived single-use token bound to person, terminal and request. The
request is decided here (`decide`, reading only) and recorded by `recording.record`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy.orm import Session

from gateway.biometrics.captures import CaptureContext, Sample, read_captures
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.schemas import CaptureReport
from gateway.crypto.nik import nik_lookup_hash
from gateway.db import utcnow
from gateway.indexing.applier import IndexApplier
from gateway.registry.service import UnknownPerson
from gateway.verification import lockout
from gateway.verification.fallback import fallback, vouching_case_worker
from gateway.verification.modes import ektp, one_to_many, one_to_one
from gateway.verification.outcome import Decision, Outcome
from gateway.verification.schemas import VerifyRequest
from gateway.verification.settings import IdentitySettings
from gateway.verification.subjects import Subject, find_subject
from gateway.verification.unknown_nik import refuse_unknown_like_a_lockout


def prepare_captures(
    *,
    engine: BiometricEngine,
    request: VerifyRequest,
    ctx: CaptureContext,
    min_quality: int,
) -> tuple[list[Sample], list[CaptureReport]] | None:
    """Open, decode and prepare the captures before the verification transaction begins.

    Extraction and MCC preparation take milliseconds; inside the verification transaction
    they would hold SQLite's write lock (and PostgreSQL's audit head) all that time. `ctx`
    should take device keys from the process's cache (`ctx.devices`), confirmed later.
    """
    if request.mode == "fallback" and not (request.fingers or request.irises):
        return None
    samples, reports = read_captures(
        request,
        ctx=ctx,
        min_quality=min_quality,
        required=("finger",) if request.mode == "ektp" else (),
    )
    prepared = [
        dataclasses.replace(s, prepared=engine.prepare(s.modality, s.template)) for s in samples
    ]
    return prepared, reports


def decide(
    *,
    session: Session,
    engine: BiometricEngine,
    indexes: IndexApplier,
    request: VerifyRequest,
    ctx: CaptureContext,
    settings: IdentitySettings,
    check_person_rate: Callable[[str], None],
    captured: tuple[list[Sample], list[CaptureReport]] | None = None,
) -> Decision:
    """Decide one verification request, writing nothing; raises typed 4xx errors on bad input.

    Only reads: `session` may be a read snapshot (`gateway.db.read_snapshot`), so the
    comparisons run outside the write transaction. `captured` carries samples the caller
    already opened, decoded and prepared (see `prepare_captures`); otherwise they are read here.
    """
    now = utcnow()
    terminal = ctx.terminal
    person: Subject | None = None
    unknown: bytes | None = None
    if request.nik is not None:
        try:
            person = find_subject(session=session, nik=request.nik)
        except UnknownPerson:
            if request.mode == "fallback":
                # Only a proven case worker learns that a NIK is not in the register.
                vouching_case_worker(
                    session=session, engine=engine, request=request, ctx=ctx, settings=settings
                )
                raise
            unknown = nik_lookup_hash(request.nik)
            check_person_rate(unknown.hex())
            refuse_unknown_like_a_lockout(
                session=session, nik_hash=unknown, settings=settings, now=now
            )
        else:
            check_person_rate(person.reference)
            lockout.refuse_if_locked(person.lockout_at(terminal.region))
    samples: list[Sample] = []
    reports: list[CaptureReport] = []
    if captured is not None:
        samples, reports = captured
    elif request.fingers or request.irises or request.mode != "fallback":
        samples, reports = read_captures(
            request,
            ctx=ctx,
            min_quality=settings.verify_min_quality,
            required=("finger",) if request.mode == "ektp" else (),
        )
    if unknown is not None:
        outcome = Outcome(False, unknown_nik=unknown)
    elif request.mode == "1:1":
        assert person is not None
        outcome = one_to_one(
            session=session,
            engine=engine,
            person=person,
            samples=samples,
            target_fmr=settings.verify_target_fmr,
        )
    elif request.mode == "ektp":
        assert person is not None and request.card_template is not None
        outcome = ektp(
            session=session,
            engine=engine,
            person=person,
            samples=samples,
            card=bytes(request.card_template.data),
            target_fmr=settings.verify_target_fmr,
        )
    elif request.mode == "1:N":
        outcome = one_to_many(
            session=session,
            engine=engine,
            indexes=indexes,
            samples=samples,
            region=terminal.region,
            target_fpir=settings.identify_target_fpir,
        )
        if outcome.person is not None:
            check_person_rate(outcome.person.reference)
            lockout.refuse_if_locked(outcome.person.lockout_at(terminal.region))
    else:
        assert person is not None and request.vouch is not None
        outcome = fallback(
            session=session,
            engine=engine,
            person=person,
            request=request,
            ctx=ctx,
            settings=settings,
            now=now,
        )
    return Decision(request, outcome, samples, reports, now)
