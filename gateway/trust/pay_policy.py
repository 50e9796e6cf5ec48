"""Checks at the door of a payout: region policy, and where fallback money may go.

Called from the pay flow once the token is spent, in the reservation's transaction, so a
refusal here rolls the token back with everything else and leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from datetime import date

from sqlalchemy.orm import Session

from adapters.base import TransferKind
from gateway.errors import Forbidden, TooManyRequests
from gateway.payouts.entitlements import HouseholdFacts, takes_part
from gateway.payouts.programmes import ProgrammeCatalogue
from gateway.payouts.region_policy import STEP_UP_ORDER, StepUp
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.trust import anomalies, repository
from gateway.trust.anomalies import AlertKind, AnomalyPolicy
from gateway.verification.tokens import TokenClaims


class FallbackCashOutRefused(Forbidden):
    code = "fallback_cash_out_needs_approval"


class OutOfRegionRefused(Forbidden):
    code = "out_of_region_not_allowed"


class StepUpRequired(Forbidden):
    code = "step_up_required"


class OutOfRegionCapReached(TooManyRequests):
    code = "out_of_region_daily_cap"


def _satisfies(step_up: StepUp, fingers: int, irises: int) -> bool:
    if step_up == "none":
        return True
    if step_up == "two_fingers":
        return fingers >= 2 or (fingers >= 1 and irises >= 1)
    return fingers >= 1 and irises >= 1


def check(
    *,
    session: Session,
    claims: TokenClaims,
    terminal: AuthenticatedTerminal,
    household: HouseholdFacts,
    channel: TransferKind,
    catalogue: ProgrammeCatalogue,
    day: date,
    now: dt.datetime,
    anomaly: AnomalyPolicy,
) -> None:
    """Refuse what policy forbids; count an out-of-region payout towards the terminal's alert."""
    if (
        claims.fallback
        and channel is TransferKind.CASH_OUT
        and repository.cash_out_approval(session, claims.token_id) is None
    ):
        raise FallbackCashOutRefused(
            "A supervised fallback pays to the household's own account; cash-out at the agent "
            "needs a supervisor's approval of this verification."
        )
    if household.region_code == terminal.region:
        return
    policies = [p.outside_region for p in catalogue.programmes if takes_part(p, household, day)]
    if not all(policy.pay for policy in policies):
        raise OutOfRegionRefused(
            "A programme due to this household pays only at terminals of its home region."
        )
    step_up: StepUp = max((p.step_up for p in policies), key=STEP_UP_ORDER.index, default="none")
    evidence = repository.verification_of_token(session, claims.token_id)
    fingers, irises = (evidence.fingers, evidence.irises) if evidence is not None else (0, 0)
    if claims.fallback or not _satisfies(step_up, fingers, irises):
        raise StepUpRequired(
            "Outside the household's home region the verification needs more evidence.",
            step_up=step_up,
        )
    cap = min((p.daily_cap_per_terminal for p in policies), default=0)
    used = repository.away_payouts(
        session,
        terminal_id=terminal.id,
        region=terminal.region,
        since=anomalies.day_start(now),
        until=now + dt.timedelta(seconds=1),
    )
    if used >= cap:
        raise OutOfRegionCapReached(
            f"This terminal has paid {used} household(s) of other regions today, the limit."
        )
    anomalies.observe(
        session=session,
        kind=AlertKind.out_of_region_payout,
        terminal_id=terminal.id,
        region=terminal.region,
        now=now,
        policy=anomaly,
        pending=1,
    )
