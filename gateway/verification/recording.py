"""Recording a decision: the verification record, the token on a match, failure counters,
anomaly observations and the audit entry, in the write transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.biometrics.captures import CaptureContext, Sample
from gateway.biometrics.schemas import CaptureReport
from gateway.registry.references import new_reference
from gateway.trust import anomalies
from gateway.trust.anomalies import AlertKind
from gateway.verification import lockout, repository
from gateway.verification.fallback import refuse_beyond_fallback_limits
from gateway.verification.models import VerificationRecord
from gateway.verification.outcome import Decision, Outcome
from gateway.verification.schemas import VerifyRequest, VerifyResult
from gateway.verification.settings import IdentitySettings
from gateway.verification.tokens import issue_token
from gateway.verification.unknown_nik import unknown_failures


def record(
    *,
    session: Session,
    decision: Decision,
    ctx: CaptureContext,
    settings: IdentitySettings,
    request_digest: str,
) -> VerifyResult:
    """Record a decision (and on a match issue its token) in the write transaction.

    What the decision read may have changed since: a lockout written by a concurrent failed
    attempt, or a concurrent fallback using up the month's allowance. Both are read again
    here, so no token is issued for a locked NIK or beyond the fallback limit.
    """
    outcome = decision.outcome
    if outcome.match and outcome.person is not None:
        scopes = lockout.scopes_for(
            terminal_region=ctx.terminal.region, home_region=outcome.person.region
        )
        lockout.refuse_if_locked(
            repository.open_lockout_reference(session, outcome.person.id, scopes)
        )
        if outcome.fallback:
            assert outcome.case_worker is not None
            refuse_beyond_fallback_limits(
                session=session,
                person=outcome.person,
                case_worker_id=outcome.case_worker.id,
                settings=settings,
                now=decision.at,
            )
    return _record(
        session=session,
        request=decision.request,
        ctx=ctx,
        settings=settings,
        outcome=outcome,
        samples=decision.samples,
        reports=decision.reports,
        request_digest=request_digest,
        now=decision.at,
    )


def _modality_label(samples: Sequence[Sample]) -> str:
    return "+".join(sorted({s.modality for s in samples})) or "none"


def _record(
    *,
    session: Session,
    request: VerifyRequest,
    ctx: CaptureContext,
    settings: IdentitySettings,
    outcome: Outcome,
    samples: Sequence[Sample],
    reports: list[CaptureReport],
    request_digest: str,
    now: dt.datetime,
) -> VerifyResult:
    terminal = ctx.terminal
    person = outcome.person
    fused = outcome.fused
    record: dict[str, Any] = {
        "reference": new_reference("ver"),
        "at": now,
        "terminal_id": terminal.id,
        "terminal_region": terminal.region,
        "mode": request.mode,
        "modality": _modality_label(samples),
        "person_id": person.id if person is not None else None,
        "outcome": "match" if outcome.match else "no_match",
        "score": fused.score if fused else None,
        "fmr": fused.fmr if fused else None,
        "scope": outcome.scope,
        "token_id": None,
        "fallback": outcome.fallback,
        "case_worker_id": outcome.case_worker.id if outcome.case_worker else None,
        "fallback_reason": outcome.reason,
        # The evidence behind a token, for region policy's step-up at payout.
        "fingers": sum(1 for s in samples if s.modality == "finger") if outcome.match else 0,
        "irises": sum(1 for s in samples if s.modality == "iris") if outcome.match else 0,
    }
    record["nik_hash"] = outcome.unknown_nik
    # A refusal carries no score: scores would let a prober climb towards a match, and
    # would tell a wrong finger from a NIK that is not in the register.
    result = VerifyResult(
        verification=record["reference"],
        mode=request.mode,
        decision=record["outcome"],
        score=record["score"] if outcome.match else None,
        fmr=record["fmr"] if outcome.match else None,
        target_fmr=settings.verify_target_fmr,
        scope=outcome.scope,
        fpir=outcome.fpir if outcome.match else None,
        samples=outcome.samples if outcome.match else [],
        captures=reports,
        fallback=outcome.fallback,
    )
    if outcome.match and person is not None:
        token = issue_token(
            session=session,
            person_id=person.id,
            household_id=person.household_id,
            person_reference=person.reference,
            household_reference=person.household_reference,
            terminal_id=terminal.id,
            request_digest=request_digest,
            fallback=outcome.fallback,
            ttl_seconds=settings.token_ttl_seconds,
            now=now,
        )
        record["token_id"] = token.token_id
        result.token, result.token_expires_at = token.token, token.expires_at
        result.person, result.household = person.reference, person.household_reference
    repository.insert_record(session, record)
    if outcome.fallback or not outcome.match:
        anomalies.observe(
            session=session,
            kind=AlertKind.fallback if outcome.fallback else AlertKind.failed_attempt,
            terminal_id=terminal.id,
            region=terminal.region,
            now=now,
            policy=settings.anomaly_policy(),
        )
    if outcome.unknown_nik is not None:
        failures = unknown_failures(
            session=session, nik_hash=outcome.unknown_nik, settings=settings, now=now
        )
        result.attempts_left = max(0, settings.lockout_attempts - failures)
    if not outcome.match and request.mode in ("1:1", "ektp"):
        if person is not None:
            result.attempts_left = lockout.register_failure(
                session=session,
                person_id=person.id,
                home_region=person.region,
                terminal_region=terminal.region,
                attempts=settings.lockout_attempts,
                window_hours=settings.lockout_window_hours,
                now=now,
            )
        lockout.register_terminal_failure(
            session=session,
            terminal_id=terminal.id,
            limit=settings.terminal_failure_limit,
            window_hours=settings.lockout_window_hours,
            now=now,
        )
    append(
        session=session,
        kind=AuditKind.fallback if outcome.fallback else AuditKind.verification,
        actor=f"terminal:{terminal.id}",
        subject=f"person:{person.reference}" if person is not None else "person:unknown",
        data={
            "verification": record["reference"],
            "mode": request.mode,
            "outcome": record["outcome"],
            "fmr": record["fmr"],
            "scope": record["scope"],
            "token": record["token_id"],
            "case_worker": outcome.case_worker.reference if outcome.case_worker else None,
        },
    )
    return result


def record_refusal(
    *,
    session: Session,
    request: VerifyRequest,
    terminal_id: str,
    terminal_region: str,
    person_id: int | None,
    outcome: str,
) -> None:
    """Record a refused attempt (locked NIK) in its own transaction: it is a verification too."""
    repository.add_record(
        session,
        VerificationRecord(
            reference=new_reference("ver"),
            terminal_id=terminal_id,
            terminal_region=terminal_region,
            mode=request.mode,
            modality="none",
            person_id=person_id,
            outcome=outcome,
        ),
    )
