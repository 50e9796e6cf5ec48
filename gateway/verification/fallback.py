"""Supervised fallback: a case worker of the person's region vouches, within monthly and
daily allowances read again in the write transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.biometrics.captures import CaptureContext
from gateway.biometrics.engine import BiometricEngine
from gateway.errors import Forbidden, TooManyRequests
from gateway.trust import repository as trust_repository
from gateway.trust.anomalies import day_start
from gateway.verification import case_workers, repository
from gateway.verification.models import CaseWorker
from gateway.verification.outcome import Outcome
from gateway.verification.schemas import VerifyRequest
from gateway.verification.settings import IdentitySettings
from gateway.verification.subjects import Subject


class FallbackLimitReached(TooManyRequests):
    code = "fallback_limit_reached"


class CaseWorkerDailyLimit(TooManyRequests):
    code = "case_worker_daily_limit"


class FallbackOutOfRegion(Forbidden):
    code = "fallback_out_of_region"


def _month_start(now: dt.datetime) -> dt.datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def refuse_beyond_fallback_limits(
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


def vouching_case_worker(
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


def fallback(
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
    refuse_beyond_fallback_limits(
        session=session, person=person, case_worker_id=None, settings=settings, now=now
    )
    worker = vouching_case_worker(
        session=session, engine=engine, request=request, ctx=ctx, settings=settings
    )
    if worker.region != person.region or ctx.terminal.region != worker.region:
        raise FallbackOutOfRegion(
            "A supervised fallback is vouched by a case worker of the person's home region, "
            "at a terminal of that region."
        )
    refuse_beyond_fallback_limits(
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
