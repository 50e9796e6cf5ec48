"""Every check on one signed message, in order, cheapest first: shape, freshness, key lookup,
signature, digest; only a valid signature learns the principal's status; last comes the
(keyid, nonce) replay store, committed at once in its own transaction so a replay is refused
across restarts and processes even if the route itself later fails (a retry after a failure
signs again, with a new nonce).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers

from gateway.db import unit_of_work
from gateway.errors import GatewayError
from gateway.terminals import repository
from gateway.terminals.errors import (
    OperatorInactive,
    ReplayedRequest,
    TerminalInactive,
    UnknownOperator,
    UnknownTerminal,
)
from gateway.terminals.identity import (
    AuthenticatedOperator,
    AuthenticatedTerminal,
    Principal,
    PrincipalKind,
)
from gateway.terminals.models import PrincipalStatus
from gateway.terminals.settings import SecuritySettings
from gateway.terminals.signatures import (
    SignatureParams,
    SignedMessage,
    check_fresh,
    parse_signature_input,
    verify_signature,
)

# Expired nonces are purged on one request in this many, so the table stays small for free.
_PURGE_EVERY = 256
_purge_counter = itertools.count()


def record_nonce(
    session: Session,
    *,
    kind: PrincipalKind,
    params: SignatureParams,
    window: timedelta,
    now: datetime,
) -> None:
    """Insert the nonce; the primary key makes the second of two racing copies fail (and the
    caller's unit of work rolls back)."""
    try:
        repository.record_nonce(
            session,
            keyid=f"{kind}:{params.keyid}",
            nonce=params.nonce,
            expires_at=params.created + window,
        )
    except IntegrityError as exc:
        raise ReplayedRequest("This request (keyid, nonce) was already received.") from exc
    if next(_purge_counter) % _PURGE_EVERY == 0:
        repository.purge_nonces(session, now=now - window)


def principal_of(row: Row[Any], kind: PrincipalKind, params: SignatureParams) -> Principal:
    if kind == "terminal":
        return AuthenticatedTerminal(
            id=row.id,
            agent_name=row.agent_name,
            bank_code=row.bank_code,
            province_code=row.province_code,
            regency_code=row.regency_code,
            nonce=params.nonce,
            created=params.created,
        )
    return AuthenticatedOperator(
        id=row.id, name=row.name, role=row.role, nonce=params.nonce, created=params.created
    )


def auth_row(session: Session, kind: PrincipalKind, keyid: str) -> Row[Any]:
    if kind == "terminal":
        row = repository.terminal_auth_row(session, keyid)
        unknown: type[GatewayError] = UnknownTerminal
    else:
        row = repository.operator_auth_row(session, keyid)
        unknown = UnknownOperator
    if row is None:
        raise unknown(f"No {kind} is registered under this key id.")
    return row


def check_active(row: Row[Any], kind: PrincipalKind) -> None:
    if row.status != PrincipalStatus.active:
        inactive = TerminalInactive if kind == "terminal" else OperatorInactive
        raise inactive(f"The {kind} is {row.status.value}.")


def authenticate_message(
    *,
    kind: PrincipalKind,
    method: str,
    url: str,
    headers: Headers,
    body: bytes,
    factory: sessionmaker[Session],
    settings: SecuritySettings,
) -> Principal:
    """Every check on one signed message, outside FastAPI (benchmarks, other transports)."""
    params = parse_signature_input(headers)
    now = datetime.now(UTC)
    window = timedelta(seconds=settings.signature_window_seconds)
    check_fresh(params.created, now=now, window=window)
    message = SignedMessage(method=method, url=url, headers=headers)
    # One short transaction of its own, committed before the route runs.
    with unit_of_work(factory) as session:
        row = auth_row(session, kind, params.keyid)
        verify_signature(message, params, row.public_key, body)
        check_active(row, kind)
        record_nonce(session, kind=kind, params=params, window=window, now=now)
        return principal_of(row, kind, params)
