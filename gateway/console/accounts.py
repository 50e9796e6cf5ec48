"""Console sign-in: passwords, lockout after failed attempts, sessions and their CSRF tokens.

A console account belongs to an existing operator (`operators`), whose role and status stay
the only truth: revoking the operator ends their console sessions at the next page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.console import passwords, repository
from gateway.console.models import ConsoleAccount, ConsoleSession
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.terminals import repository as terminal_repository
from gateway.terminals.models import OperatorRole, PrincipalStatus

LANGUAGES = ("id", "en")


class UnknownOperator(NotFound):
    code = "unknown_operator"


class WeakPassword(InvalidInput):
    code = "weak_password"


class AccountExists(Conflict):
    code = "console_account_exists"


@dataclass(frozen=True)
class ConsoleOperator:
    """The operator a console request comes from, read afresh on every page."""

    id: str
    name: str
    role: OperatorRole
    language: str
    csrf_token: str


@dataclass(frozen=True)
class SignInResult:
    """A session token on success; otherwise why not (`invalid` or `locked`)."""

    token: str | None
    refusal: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_account(
    *, session: Session, operator_id: str, password: str, language: str, replace: bool = False
) -> ConsoleAccount:
    """Give an existing operator a console password (or, with `replace`, a new one)."""
    operator = terminal_repository.get_operator(session, operator_id)
    if operator is None:
        raise UnknownOperator("No operator has this id; register them with `operators add`.")
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        raise WeakPassword(
            f"A console password has {passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters."
        )
    if language not in LANGUAGES:
        raise InvalidInput("The language is `id` or `en`.")
    row = repository.account(session, operator_id)
    if row is not None and not replace:
        raise AccountExists("This operator already has a console password.")
    if row is None:
        row = ConsoleAccount(operator_id=operator_id, failed_attempts=0)
        session.add(row)
    row.password_hash = passwords.hash_password(password)
    row.language = language
    row.failed_attempts, row.locked_until = 0, None
    repository.delete_sessions_of(session, operator_id)
    session.flush()
    append(
        session=session,
        kind=AuditKind.operator,
        actor="cli",
        subject=f"operator:{operator_id}",
        data={"event": "console_password_set"},
    )
    return row


def sign_in(
    *,
    session: Session,
    operator_id: str,
    password: str,
    now: dt.datetime,
    attempts: int,
    lockout: dt.timedelta,
    lifetime: dt.timedelta,
) -> SignInResult:
    """A new session for the right password of an active operator. Returns its refusal rather
    than raising, so the failed attempt it counts is committed with the request."""
    row = repository.account_for_update(session, operator_id)
    operator = terminal_repository.get_operator(session, operator_id) if row else None
    if row is None or operator is None:
        passwords.verify_password(password, passwords.dummy_hash())
        return SignInResult(None, "invalid")
    if row.locked_until is not None and row.locked_until > now:
        return SignInResult(None, "locked")
    if not passwords.verify_password(password, row.password_hash):
        row.failed_attempts += 1
        if row.failed_attempts >= attempts:
            row.locked_until, row.failed_attempts = now + lockout, 0
            append(
                session=session,
                kind=AuditKind.operator,
                actor="gateway",
                subject=f"operator:{operator_id}",
                data={"event": "console_locked", "minutes": int(lockout.total_seconds() // 60)},
            )
            return SignInResult(None, "locked")
        return SignInResult(None, "invalid")
    if operator.status != PrincipalStatus.active:
        return SignInResult(None, "invalid")
    row.failed_attempts, row.locked_until = 0, None
    repository.purge_sessions(session, now=now)
    token = secrets.token_urlsafe(32)
    repository.add(
        session,
        ConsoleSession(
            token_hash=token_hash(token),
            operator_id=operator_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime,
        ),
    )
    return SignInResult(token)


def current(*, session: Session, token: str, now: dt.datetime) -> ConsoleOperator | None:
    """The signed-in operator, if the session is live and the operator still active."""
    live = repository.live_session(session, token_hash(token), now=now)
    if live is None:
        return None
    operator = terminal_repository.get_operator(session, live.operator_id)
    row = repository.account(session, live.operator_id)
    if operator is None or row is None or operator.status != PrincipalStatus.active:
        return None
    return ConsoleOperator(
        id=operator.id,
        name=operator.name,
        role=operator.role,
        language=row.language,
        csrf_token=live.csrf_token,
    )


def sign_out(*, session: Session, token: str) -> None:
    repository.delete_session(session, token_hash(token))


def set_language(*, session: Session, operator_id: str, language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput("The language is `id` or `en`.")
    row = repository.account(session, operator_id)
    if row is None:
        raise UnknownOperator("This operator has no console account.")
    row.language = language
