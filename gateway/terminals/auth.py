"""FastAPI dependencies that authenticate terminal and operator requests (RFC 9421 message
signatures, `gateway.terminals.signatures`), and the aliases every route declares.

Terminals' hot routes confirm the terminal in their own transaction
(`gateway.terminals.deferred`); their nonce is reserved in the process and then recorded in
the database right after the signature, before the rate limit (`gateway.terminals.replay`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL

from gateway.db import single_write, unit_of_work
from gateway.errors import GatewayError
from gateway.terminals.authenticate import (
    auth_row,
    authenticate_message,
    check_active,
    principal_of,
    record_nonce,
)
from gateway.terminals.deferred import SignedTerminalRequest
from gateway.terminals.errors import OperatorForbidden, ReplayedRequest, SignatureInvalid
from gateway.terminals.identity import AuthenticatedOperator, AuthenticatedTerminal, PrincipalKind
from gateway.terminals.models import OperatorRole, PrincipalStatus
from gateway.terminals.principals import PrincipalCache
from gateway.terminals.ratelimit import TokenBucketLimiter
from gateway.terminals.settings import SecuritySettings
from gateway.terminals.signatures import (
    SignatureParams,
    SignedMessage,
    check_fresh,
    parse_signature_input,
    verify_signature,
)

log = logging.getLogger("gateway.terminals.auth")


def _target_uri(request: Request, settings: SecuritySettings) -> str:
    """The URL the client called: ours, or the public origin when behind a proxy."""
    if settings.public_base_url is None:
        return str(request.url)
    public = URL(settings.public_base_url)
    return str(request.url.replace(scheme=public.scheme, netloc=public.netloc))


async def _authenticate_request(
    request: Request, kind: PrincipalKind
) -> AuthenticatedTerminal | AuthenticatedOperator:
    body = await request.body()
    state = request.app.state
    try:
        principal = await run_in_threadpool(
            lambda: authenticate_message(
                kind=kind,
                method=request.method,
                url=_target_uri(request, state.security_settings),
                headers=request.headers,
                body=body,
                factory=state.session_factory,
                settings=state.security_settings,
            )
        )
    except GatewayError as exc:
        # The reason code only: never the headers, keyid guesses or body of a refused request.
        log.warning("request refused", extra={"reason": exc.code, "principal_kind": kind})
        raise
    return principal


def _check_signed_terminal(
    request: Request, url: str, body: bytes, *, may_read: bool
) -> SignedTerminalRequest | None:
    """Shape, freshness and signature against the cached key: no database in the usual case.

    None when the database must be read (nothing cached, or the cache disagrees) and
    `may_read` is false: the caller then runs this again off the event loop.
    """
    state = request.app.state
    settings: SecuritySettings = state.security_settings
    cache: PrincipalCache = state.principal_cache
    params = parse_signature_input(request.headers)
    window = timedelta(seconds=settings.signature_window_seconds)
    check_fresh(params.created, now=datetime.now(UTC), window=window)
    message = SignedMessage(method=request.method, url=url, headers=request.headers)
    row = cache.terminals.get(params.keyid)
    if row is not None:
        try:
            verify_signature(message, params, row.public_key, body)
        except SignatureInvalid:
            row = None  # perhaps re-keyed since it was cached: ask the database
        else:
            if row.status != PrincipalStatus.active:
                row = None  # perhaps re-activated since: ask the database
    if row is None:
        if not may_read:
            return None
        with unit_of_work(state.session_factory) as session:
            row = auth_row(session, "terminal", params.keyid)
        cache.terminals.put(row.id, row)
        verify_signature(message, params, row.public_key, body)
        check_active(row, "terminal")
    terminal = principal_of(row, "terminal", params)
    assert isinstance(terminal, AuthenticatedTerminal)
    return SignedTerminalRequest(terminal, row.public_key, params, message, body, window, cache)


async def authenticate_terminal_deferred(request: Request) -> SignedTerminalRequest:
    """FastAPI dependency for routes that confirm the terminal in their own one transaction
    (`signed_unit_of_work`); within the terminal's rate limit. A cache hit costs one
    signature check on the event loop; only a miss goes to a worker thread for the database."""
    body = await request.body()
    url = _target_uri(request, request.app.state.security_settings)
    try:
        signed = _check_signed_terminal(request, url, body, may_read=False)
        if signed is None:
            signed = await run_in_threadpool(
                lambda: _check_signed_terminal(request, url, body, may_read=True)
            )
    except GatewayError as exc:
        log.warning("request refused", extra={"reason": exc.code, "principal_kind": "terminal"})
        raise
    assert signed is not None
    await _reserve_nonce(request, signed.params, signed.window)
    limiter: TokenBucketLimiter = request.app.state.terminal_rate_limiter
    limiter.hit(signed.terminal.id)
    request.state.terminal_id = signed.terminal.id
    return signed


async def _reserve_nonce(request: Request, params: SignatureParams, window: timedelta) -> None:
    """Refuse a replay before it costs anything: reserved in this process, then recorded for
    good at once (one autocommitted insert), so a copy sent to another process or after a
    restart is refused too, and the nonce stays spent whatever the route then does."""
    state = request.app.state
    keyid = f"terminal:{params.keyid}"
    expires = (params.created + window).timestamp()
    if not state.nonce_reservations.reserve(keyid, params.nonce, expires_at=expires):
        log.warning("request refused", extra={"reason": ReplayedRequest.code})
        raise ReplayedRequest("This request (keyid, nonce) was already received.")

    def spend() -> None:
        with single_write(state.session_factory) as session:
            record_nonce(
                session, kind="terminal", params=params, window=window, now=datetime.now(UTC)
            )

    try:
        await run_in_threadpool(spend)
    except ReplayedRequest:
        log.warning("request refused", extra={"reason": ReplayedRequest.code})
        raise


async def authenticate_terminal(request: Request) -> AuthenticatedTerminal:
    """FastAPI dependency: the verified, active terminal, within its rate limit."""
    principal = await _authenticate_request(request, "terminal")
    assert isinstance(principal, AuthenticatedTerminal)
    limiter: TokenBucketLimiter = request.app.state.terminal_rate_limiter
    limiter.hit(principal.id)
    request.state.terminal_id = principal.id
    return principal


async def authenticate_operator(request: Request) -> AuthenticatedOperator:
    """FastAPI dependency: the verified, active operator (any role)."""
    principal = await _authenticate_request(request, "operator")
    assert isinstance(principal, AuthenticatedOperator)
    request.state.operator_id = principal.id
    return principal


def require_role(*roles: OperatorRole) -> Any:
    """A dependency admitting only operators holding one of `roles`."""

    async def _dependency(request: Request) -> AuthenticatedOperator:
        operator = await authenticate_operator(request)
        if operator.role not in roles:
            raise OperatorForbidden("This operation needs another operator role.")
        return operator

    _OPERATOR_DEPENDENCIES.add(_dependency)
    return Depends(_dependency)


_OPERATOR_DEPENDENCIES: set[Any] = {authenticate_operator}
_TERMINAL_DEPENDENCIES: set[Any] = {authenticate_terminal, authenticate_terminal_deferred}


def route_principal(dependant: Dependant) -> PrincipalKind | None:
    """Who must sign requests to a route: its dependencies name the authenticator."""
    for dependency in dependant.dependencies:
        if dependency.call in _TERMINAL_DEPENDENCIES:
            return "terminal"
        if dependency.call in _OPERATOR_DEPENDENCIES:
            return "operator"
        found = route_principal(dependency)
        if found is not None:
            return found
    return None


async def signature_first(request: Request) -> None:
    """Authenticate a request whose body failed to parse before its route's dependencies ran:
    an unsigned or forged request is refused as such, before any word about its body."""
    state = request.state
    if getattr(state, "terminal_id", None) or getattr(state, "operator_id", None):
        return  # authenticated already: the body's problems are the signer's to hear
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    kind = route_principal(dependant) if dependant is not None else None
    if kind == "terminal":
        await _authenticate_request(request, "terminal")
    elif kind == "operator":
        await _authenticate_request(request, "operator")


def check_person_rate(request: Request, person_key: str) -> None:
    """Per-person attempt limit (429 `rate_limited`); call it before matching a person.

    `person_key` must be an opaque reference, never a NIK.
    """
    limiter: TokenBucketLimiter = request.app.state.person_rate_limiter
    limiter.hit(person_key)


TerminalDep = Annotated[AuthenticatedTerminal, Depends(authenticate_terminal)]
SignedTerminalDep = Annotated[SignedTerminalRequest, Depends(authenticate_terminal_deferred)]
OperatorDep = Annotated[AuthenticatedOperator, Depends(authenticate_operator)]
OpsOperatorDep = Annotated[AuthenticatedOperator, require_role(OperatorRole.ops)]
CaseWorkerDep = Annotated[
    AuthenticatedOperator, require_role(OperatorRole.case_worker, OperatorRole.ops)
]
