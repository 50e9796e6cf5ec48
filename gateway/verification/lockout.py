"""Lockout after repeated failed biometric attempts on one NIK, until a case worker unlocks.

Five failures within 24 hours (both settings) lock the NIK: a genuine person failing that
often needs a human anyway (worn ridges, wrong finger), and an impostor trying fingers at an
agent is stopped. Failures before the last unlock do not count again.

Failures are counted apart by where they happen. At terminals of the person's home region
they lock the person everywhere (`home`); elsewhere they lock the person only outside their
region (`away`), so any terminal in the country cannot lock a person out of their own
village's agent. Counted per terminal too: one terminal failing on many NIKs is probing the
register, and is suspended (an ops decision brings it back) with an alert.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.errors import Conflict, GatewayError, NotFound
from gateway.registry import repository as registry_repository
from gateway.registry.references import new_reference
from gateway.terminals import repository as terminal_repository
from gateway.terminals.models import PrincipalStatus
from gateway.verification import case_workers, repository
from gateway.verification.models import Lockout
from gateway.verification.schemas import LockoutView


class Locked(GatewayError):
    status = 423
    code = "nik_locked"


class UnknownLockout(NotFound):
    code = "unknown_lockout"


class AlreadyUnlocked(Conflict):
    code = "lockout_already_lifted"


def scopes_for(*, terminal_region: str, home_region: str) -> tuple[str, ...]:
    """The lockout scopes that refuse a verification at a terminal of `terminal_region`."""
    return ("home",) if terminal_region == home_region else ("home", "away")


def refuse_if_locked(lockout_reference: str | None) -> None:
    """Raise `Locked` when the person has an open lockout (its reference, read by the caller
    with the person: `repository.subject_by_id`)."""
    if lockout_reference is not None:
        raise Locked(
            "This NIK is locked after repeated failed attempts; a case worker (pendamping) "
            "must unlock it.",
            lockout=lockout_reference,
        )


def register_failure(
    *,
    session: Session,
    person_id: int,
    home_region: str,
    terminal_region: str,
    attempts: int,
    window_hours: int,
    now: dt.datetime,
) -> int:
    """Count the (already recorded) failure in its scope; lock when the limit is reached.
    Attempts left in that scope."""
    home = terminal_region == home_region
    scope = "home" if home else "away"
    since = now - dt.timedelta(hours=window_hours)
    unlocked = repository.last_unlock(session, person_id)
    if unlocked is not None and unlocked > since:
        since = unlocked
    failures = repository.failures_since(
        session, person_id=person_id, since=since, home_region=home_region, home=home
    )
    if (
        failures >= attempts
        and repository.open_lockout_reference(session, person_id, (scope,)) is None
    ):
        repository.add_lockout(
            session,
            Lockout(
                reference=new_reference("lock"),
                person_id=person_id,
                failures=failures,
                scope=scope,
                locked_at=now,
            ),
        )
    return max(0, attempts - failures)


def register_terminal_failure(
    *, session: Session, terminal_id: str, limit: int, window_hours: int, now: dt.datetime
) -> None:
    """Suspend a terminal whose failed attempts over every NIK reach `limit` in the window."""
    since = now - dt.timedelta(hours=window_hours)
    failures = repository.terminal_failures_since(session, terminal_id=terminal_id, since=since)
    if failures < limit:
        return
    terminal = terminal_repository.get_terminal(session, terminal_id)
    if terminal is None or terminal.status != PrincipalStatus.active:
        return
    terminal.status = PrincipalStatus.suspended
    terminal.status_reason = f"{failures} failed attempts within {window_hours} h"
    append(
        session=session,
        kind=AuditKind.terminal,
        actor="gateway",
        subject=f"terminal:{terminal_id}",
        data={"event": "suspended_for_failed_attempts", "failures": failures},
    )


def _view(session: Session, lockout: Lockout) -> LockoutView:
    person = registry_repository.person_by_id(session, lockout.person_id)
    assert person is not None
    household = registry_repository.household_by_id(session, person.household_id)
    assert household is not None
    return LockoutView(
        reference=lockout.reference,
        person=person.reference,
        household=household.reference,
        failures=lockout.failures,
        locked_at=lockout.locked_at,
        unlocked_at=lockout.unlocked_at,
        unlocked_by=lockout.unlocked_by,
        unlock_reason=lockout.unlock_reason,
    )


def list_open(*, session: Session, limit: int, offset: int) -> list[LockoutView]:
    return [
        _view(session, lo) for lo in repository.open_lockouts(session, limit=limit, offset=offset)
    ]


def unlock(
    *, session: Session, reference: str, operator_id: str, reason: str, now: dt.datetime
) -> LockoutView:
    """Lift a lockout (the decision of an active case worker of the person's home region,
    audited); the failure count starts afresh."""
    lockout = repository.lockout_by_reference(session, reference)
    if lockout is None:
        raise UnknownLockout("No lockout has this reference.")
    if lockout.unlocked_at is not None:
        raise AlreadyUnlocked("This lockout has already been lifted.")
    person = registry_repository.person_by_id(session, lockout.person_id)
    assert person is not None
    household = registry_repository.household_by_id(session, person.household_id)
    assert household is not None
    case_workers.require_of_region(session, operator_id=operator_id, region=household.region)
    lockout.unlocked_at = now
    lockout.unlocked_by = operator_id
    lockout.unlock_reason = reason
    view = _view(session, lockout)
    append(
        session=session,
        kind=AuditKind.unlock,
        actor=f"operator:{operator_id}",
        subject=f"person:{view.person}",
        data={"lockout": lockout.reference, "failures": lockout.failures},
    )
    return view
