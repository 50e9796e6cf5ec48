"""Verification as agent terminals call it: 1:1, cardless 1:N, e-KTP, supervised fallback.

Every mode ends the same way: a decision on a calibrated, fused false match rate, a
verification record (who, where, when, outcome, scores; never a biometric), an audit entry,
and on a match a short-lived single-use token bound to person, terminal and request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.crypto.nik import nik_lookup_hash
from gateway.db import utcnow
from gateway.enrollment.captures import (
    CaptureContext,
    Sample,
    finger_from_record,
    read_captures,
)
from gateway.enrollment.engine import BiometricEngine, Comparison, Fused
from gateway.enrollment.schemas import CaptureReport
from gateway.enrollment.templates import compare_current
from gateway.errors import Conflict, Forbidden, InvalidInput, TooManyRequests
from gateway.indexing.applier import IndexApplier, region_of
from gateway.indexing.errors import SearchIncomplete
from gateway.registry import repository as registry_repository
from gateway.registry.nik import parse_nik
from gateway.registry.references import new_reference
from gateway.registry.service import UnknownPerson, canonical
from gateway.trust import anomalies
from gateway.trust import repository as trust_repository
from gateway.trust.anomalies import AlertKind, day_start
from gateway.verification import case_workers, lockout, repository
from gateway.verification.models import CaseWorker, VerificationRecord
from gateway.verification.schemas import SampleScore, VerifyRequest, VerifyResult
from gateway.verification.settings import IdentitySettings
from gateway.verification.tokens import issue_token
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.types import MinutiaSet
from matcher.index.base import RegionCode


class NotEnrolled(Conflict):
    code = "not_enrolled"


class CardFingerMissing(InvalidInput):
    code = "card_finger_missing"


class FallbackLimitReached(TooManyRequests):
    code = "fallback_limit_reached"


class CaseWorkerDailyLimit(TooManyRequests):
    code = "case_worker_daily_limit"


class FallbackOutOfRegion(Forbidden):
    code = "fallback_out_of_region"


@dataclass(frozen=True)
class Subject:
    """The person a verification is about, with what the answer and the token need, and
    their open lockout's reference if any (read in the same statement)."""

    id: int
    reference: str
    household_id: int
    household_reference: str
    region: str
    lockout: str | None
    away_lockout: str | None

    def lockout_at(self, terminal_region: str) -> str | None:
        """The open lockout refusing this person at a terminal of `terminal_region`: a home
        lockout anywhere, an away lockout only outside the person's region."""
        if self.lockout is not None or terminal_region == self.region:
            return self.lockout
        return self.away_lockout


def _subject(row: Row[Any]) -> Subject:
    return Subject(
        row.id,
        row.reference,
        row.household_id,
        row.household_reference,
        row.region,
        row.lockout,
        row.away_lockout,
    )


def find_subject(*, session: Session, nik: str) -> Subject:
    """The register's person for a NIK, with their open lockout's reference if any.

    The NIK is checked first, so a typo says which part is wrong; a record merged into
    another by adjudication resolves to the surviving person (as `find_person` does).
    """
    parse_nik(nik)
    row = repository.subject_by_nik_hash(session, nik_lookup_hash(nik))
    if row is None:
        raise UnknownPerson("No person with this NIK is in the register.")
    if row.merged_into_id is not None:
        merged = registry_repository.person_by_id(session, row.id)
        assert merged is not None
        row = repository.subject_by_id(session, canonical(session=session, person=merged).id)
        assert row is not None
    return _subject(row)


@dataclass
class Outcome:
    """What a mode decided, before it is recorded and answered."""

    match: bool
    person: Subject | None = None
    fused: Fused | None = None
    samples: list[SampleScore] = field(default_factory=list)
    scope: str | None = None
    fpir: float | None = None
    fallback: bool = False
    case_worker: CaseWorker | None = None
    reason: str | None = None
    # A 1:1 or e-KTP request for a NIK not in the register: answered as a wrong finger.
    unknown_nik: bytes | None = None


def _compare_enrolled(
    *, session: Session, engine: BiometricEngine, person: Subject, samples: Sequence[Sample]
) -> list[Comparison]:
    comparisons = compare_current(
        session=session, engine=engine, person_id=person.id, samples=samples
    )
    if not comparisons:
        raise NotEnrolled(
            "The person has no enrolled template for the captured finger(s) or eye(s); "
            "enroll them first or capture an enrolled finger."
        )
    return comparisons


def _scores(
    comparisons: Sequence[Comparison], against: Literal["enrolled", "card"]
) -> list[SampleScore]:
    return [
        SampleScore(capture=c.label, against=against, score=c.score, fmr=c.fmr) for c in comparisons
    ]


def _one_to_one(
    *,
    session: Session,
    engine: BiometricEngine,
    person: Subject,
    samples: Sequence[Sample],
    target_fmr: float,
) -> Outcome:
    comparisons = _compare_enrolled(session=session, engine=engine, person=person, samples=samples)
    fused = engine.fuse(comparisons)
    return Outcome(fused.fmr <= target_fmr, person, fused, _scores(comparisons, "enrolled"))


def _ektp(
    *,
    session: Session,
    engine: BiometricEngine,
    person: Subject,
    samples: Sequence[Sample],
    card: bytes,
    target_fmr: float,
) -> Outcome:
    """Live fingers against the chip's template AND the enrolled one: both must match."""
    fingers = [s for s in samples if s.modality == "finger"]
    card_comparisons = []
    for s in fingers:

        def decode(position: int = s.position) -> MinutiaSet:
            return finger_from_record(card, position=position, label="card")

        try:
            card_view = engine.prepared_card(card, s.position, decode)
        except TemplateFormatError as exc:
            if exc.field == "finger_position":
                continue
            raise InvalidInput(
                f"The card template is not a valid ISO/IEC 19794-2 record: {exc}",
                code="card_template_invalid",
            ) from None
        card_comparisons.append(
            engine.compare("finger", s.label, engine.prepared_probe(s), card_view)
        )
    if not card_comparisons:
        raise CardFingerMissing("The card template holds none of the captured fingers.")
    enrolled = _compare_enrolled(session=session, engine=engine, person=person, samples=fingers)
    card_fused, enrolled_fused = engine.fuse(card_comparisons), engine.fuse(enrolled)
    weaker = max((card_fused, enrolled_fused), key=lambda f: f.fmr)
    return Outcome(
        match=card_fused.fmr <= target_fmr and enrolled_fused.fmr <= target_fmr,
        person=person,
        fused=weaker,
        samples=_scores(enrolled, "enrolled") + _scores(card_comparisons, "card"),
    )


def _one_to_many(
    *,
    session: Session,
    engine: BiometricEngine,
    indexes: IndexApplier,
    samples: Sequence[Sample],
    region: str,
    target_fpir: float,
) -> Outcome:
    """Cardless: the terminal's regency first, then nationwide; modalities fused per person."""
    per_person: dict[int, list[tuple[str, float, float]]] = {}
    widened = False
    gallery = 1
    unsearched: set[RegionCode] = set()
    for modality in ("finger", "iris"):
        probe = {s.position: s.template for s in samples if s.modality == modality}
        if not probe:
            continue
        result = indexes.search(modality, probe, region=region_of(region), limit=5)
        widened = widened or result.widened
        gallery = max(gallery, result.gallery_size)
        unsearched.update(result.unsearched)
        for c in result.candidates:
            per_person.setdefault(c.person_id, []).append((modality, c.score, c.fmr))
    if not per_person:
        _refuse_partial_miss(unsearched)
        return Outcome(False, scope="national" if widened else "region")
    fused_by_person = {
        pid: engine.fuse([Comparison(m, s, f) for m, s, f in hits])
        for pid, hits in per_person.items()
    }
    best_id = min(fused_by_person, key=lambda pid: fused_by_person[pid].fmr)
    fused = fused_by_person[best_id]
    fpir = min(1.0, gallery * fused.fmr)
    found = repository.subject_by_id(session, best_id) if fpir <= target_fpir else None
    person = _subject(found) if found is not None else None
    if person is None:
        _refuse_partial_miss(unsearched)
    return Outcome(
        match=person is not None,
        person=person,
        fused=fused,
        samples=[
            SampleScore(capture=f"{m}", against="enrolled", score=s, fmr=f)
            for m, s, f in per_person[best_id]
        ]
        if person is not None
        else [],
        scope="national" if widened else "region",
        fpir=fpir,
    )


def _refuse_partial_miss(unsearched: set[RegionCode]) -> None:
    """A miss over a partial search is not a "not found": the person may live on the part
    that did not answer."""
    if unsearched:
        raise SearchIncomplete(
            "Part of the register did not answer in time; try again, or verify with the card.",
            unsearched=sorted(r.key for r in unsearched),
        )


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


def _month_start(now: dt.datetime) -> dt.datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Decision:
    """What a verification decided on what it read, to be recorded by `record` in the write
    transaction that follows."""

    request: VerifyRequest
    outcome: Outcome
    samples: list[Sample]
    reports: list[CaptureReport]
    at: dt.datetime


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
                _vouching_case_worker(
                    session=session, engine=engine, request=request, ctx=ctx, settings=settings
                )
                raise
            unknown = nik_lookup_hash(request.nik)
            check_person_rate(unknown.hex())
            _refuse_unknown_like_a_lockout(
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
        outcome = _one_to_one(
            session=session,
            engine=engine,
            person=person,
            samples=samples,
            target_fmr=settings.verify_target_fmr,
        )
    elif request.mode == "ektp":
        assert person is not None and request.card_template is not None
        outcome = _ektp(
            session=session,
            engine=engine,
            person=person,
            samples=samples,
            card=bytes(request.card_template.data),
            target_fmr=settings.verify_target_fmr,
        )
    elif request.mode == "1:N":
        outcome = _one_to_many(
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
        outcome = _fallback(
            session=session,
            engine=engine,
            person=person,
            request=request,
            ctx=ctx,
            settings=settings,
            now=now,
        )
    return Decision(request, outcome, samples, reports, now)


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
            _refuse_beyond_fallback_limits(
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


def _unknown_failures(
    *, session: Session, nik_hash: bytes, settings: IdentitySettings, now: dt.datetime
) -> int:
    since = now - dt.timedelta(hours=settings.lockout_window_hours)
    return repository.unknown_nik_failures_since(session, nik_hash=nik_hash, since=since)


def _refuse_unknown_like_a_lockout(
    *, session: Session, nik_hash: bytes, settings: IdentitySettings, now: dt.datetime
) -> None:
    """A NIK not in the register locks after as many failures as a registered one, with a
    lockout reference of the same shape, so the answers tell the register nothing."""
    if _unknown_failures(session=session, nik_hash=nik_hash, settings=settings, now=now) < (
        settings.lockout_attempts
    ):
        return
    lockout.refuse_if_locked("lock_" + hashlib.sha256(nik_hash).hexdigest()[:20])


def _refuse_beyond_fallback_limits(
    *,
    session: Session,
    person: Subject,
    case_worker_id: int | None,
    settings: IdentitySettings,
    now: dt.datetime,
) -> None:
    used = repository.fallbacks_since(session, person_id=person.id, since=_month_start(now))
    if used >= settings.fallback_per_month:
        raise FallbackLimitReached(
            f"This person has had {used} supervised fallback(s) this month, the limit."
        )
    if case_worker_id is None:
        return
    vouched = trust_repository.fallbacks_by_case_worker(
        session, case_worker_id=case_worker_id, since=day_start(now)
    )
    if vouched >= settings.fallback_per_case_worker_per_day:
        raise CaseWorkerDailyLimit(
            f"This case worker has vouched {vouched} time(s) today, the daily limit."
        )


def _vouching_case_worker(
    *,
    session: Session,
    engine: BiometricEngine,
    request: VerifyRequest,
    ctx: CaptureContext,
    settings: IdentitySettings,
) -> CaseWorker:
    """The case worker named in the vouch, proven by their live fingers and active now."""
    assert request.vouch is not None
    worker, _ = case_workers.authenticate(
        session=session,
        engine=engine,
        reference=request.vouch.case_worker,
        captures=request.vouch.captures,
        ctx=ctx,
        min_quality=settings.verify_min_quality,
        target_fmr=settings.verify_target_fmr,
    )
    return worker


def _fallback(
    *,
    session: Session,
    engine: BiometricEngine,
    person: Subject,
    request: VerifyRequest,
    ctx: CaptureContext,
    settings: IdentitySettings,
    now: dt.datetime,
) -> Outcome:
    """A case worker of the person's region, proven by their own fingers and active at this
    moment, vouches for the person at a terminal of that region (monthly and daily limits)."""
    assert request.vouch is not None
    _refuse_beyond_fallback_limits(
        session=session, person=person, case_worker_id=None, settings=settings, now=now
    )
    worker = _vouching_case_worker(
        session=session, engine=engine, request=request, ctx=ctx, settings=settings
    )
    if worker.region != person.region or ctx.terminal.region != worker.region:
        raise FallbackOutOfRegion(
            "A supervised fallback is vouched by a case worker of the person's home region, "
            "at a terminal of that region."
        )
    _refuse_beyond_fallback_limits(
        session=session, person=person, case_worker_id=worker.id, settings=settings, now=now
    )
    return Outcome(
        match=True,
        person=person,
        fused=None,
        fallback=True,
        case_worker=worker,
        reason=request.vouch.reason,
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
        failures = _unknown_failures(
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
