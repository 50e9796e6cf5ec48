"""RFC 9421 HTTP Message Signatures (ed25519) on every terminal and operator request.

A request must carry one signature whose `Signature-Input` covers `@method`, `@target-uri`,
`content-digest` (RFC 9530, checked against the body) and, when there is a body,
`content-type`, with the parameters `created`, `nonce` and `keyid` (the terminal or operator
id). Checks run cheapest first: shape, freshness, key lookup, signature, digest; only a valid
signature learns the terminal's status; last comes the (keyid, nonce) replay store, committed
at once in its own transaction so a replay is refused across restarts and processes even if
the route itself later fails (a retry after a failure signs again, with a new nonce). Routes
that record the nonce in their own transaction reserve it in the process first, right after
the signature and before the rate limit (`gateway.terminals.replay`). The signature base is
built by the `http-message-signatures` library.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

import http_sf
from cryptography.exceptions import InvalidSignature as BadEd25519Signature
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from http_message_signatures import ContentDigest, HTTPMessageSignaturesException, InvalidSignature
from http_sf.innerlist import ser_innerlist
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, Headers

from gateway.db import unit_of_work
from gateway.errors import GatewayError
from gateway.terminals import repository
from gateway.terminals.errors import (
    DigestMismatch,
    OperatorForbidden,
    OperatorInactive,
    ReplayedRequest,
    SignatureInvalid,
    SignatureMissing,
    StaleRequest,
    TerminalInactive,
    UnknownOperator,
    UnknownTerminal,
)
from gateway.terminals.keys import load_public_key
from gateway.terminals.models import OperatorRole, PrincipalStatus
from gateway.terminals.principals import PrincipalCache
from gateway.terminals.ratelimit import TokenBucketLimiter
from gateway.terminals.repository import DeviceKeyRow
from gateway.terminals.settings import SecuritySettings
from gateway.terminals.signature_base import UnusableComponent, signature_base

log = logging.getLogger("gateway.terminals.auth")

ALGORITHM = "ed25519"
ALWAYS_COVERED = ("@method", "@target-uri", "content-digest")
# RFC 9421 section 2.3's metadata; `tag` is allowed and ignored.
_SIGNATURE_PARAMETERS = frozenset({"created", "expires", "nonce", "alg", "keyid", "tag"})
# Expired nonces are purged on one request in this many, so the table stays small for free.
_PURGE_EVERY = 256
_purge_counter = itertools.count()

PrincipalKind = Literal["terminal", "operator"]


@dataclass(frozen=True)
class AuthenticatedTerminal:
    """The terminal a request provably came from, and the request's signed nonce."""

    id: str
    agent_name: str
    bank_code: str
    province_code: str
    regency_code: str
    nonce: str
    created: datetime

    @property
    def region(self) -> str:
        """Province + regency (4 digits), the scope of cardless 1:N searches."""
        return self.province_code + self.regency_code


@dataclass(frozen=True)
class AuthenticatedOperator:
    id: str
    name: str
    role: OperatorRole
    nonce: str
    created: datetime


Principal = AuthenticatedTerminal | AuthenticatedOperator


@dataclass(frozen=True)
class _SignatureParams:
    label: str
    keyid: str
    nonce: str
    created: datetime
    covered: tuple[str, ...]
    serialized: str  # the member's canonical form: the base's @signature-params value


@dataclass
class _Message:
    """The parts of a request a signature covers."""

    method: str
    url: str
    headers: Headers


def _parse_signature_input(headers: Headers) -> _SignatureParams:
    if "signature-input" not in headers and "signature" not in headers:
        raise SignatureMissing("The request is not signed (RFC 9421 Signature-Input/Signature).")
    if "signature-input" not in headers or "signature" not in headers:
        raise SignatureInvalid("Both Signature-Input and Signature headers are required.")
    try:
        parsed: Any = http_sf.parse(
            ", ".join(headers.getlist("signature-input")).encode("latin-1"), tltype="dictionary"
        )
    except (ValueError, TypeError) as exc:
        raise SignatureInvalid("Signature-Input is not a structured dictionary.") from exc
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise SignatureInvalid("Exactly one signature is expected.")
    label, (members, params) = next(iter(parsed.items()))
    if not isinstance(members, list):
        raise SignatureInvalid("Signature-Input must list the covered components.")
    if any(type(value) is not str or component_params for value, component_params in members):
        raise SignatureInvalid("Covered components must be plain strings, without parameters.")
    covered = tuple(value for value, _ in members)
    if set(params) - _SIGNATURE_PARAMETERS:
        raise SignatureInvalid("The signature carries parameters this gateway does not know.")
    keyid, nonce, created = params.get("keyid"), params.get("nonce"), params.get("created")
    if not isinstance(keyid, str) or not isinstance(nonce, str) or type(created) is not int:
        raise SignatureInvalid("The signature needs keyid, nonce and created parameters.")
    if not 8 <= len(nonce) <= 128 or not 1 <= len(keyid) <= 64:
        raise SignatureInvalid("The signature's keyid or nonce has an unusable length.")
    if params.get("alg", ALGORITHM) != ALGORITHM:
        raise SignatureInvalid("Only the ed25519 signature algorithm is accepted.")
    try:
        created_at = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureInvalid("The signature's created parameter is out of range.") from exc
    expires = params.get("expires")
    if expires is not None and (type(expires) is not int or expires < time.time()):
        raise StaleRequest("The signature has expired.")
    return _SignatureParams(
        label, keyid, nonce, created_at, covered, ser_innerlist((members, params))
    )


def _required_components(body: bytes, headers: Headers) -> tuple[str, ...]:
    if body or "content-type" in headers:
        return (*ALWAYS_COVERED, "content-type")
    return ALWAYS_COVERED


def _check_fresh(created: datetime, *, now: datetime, window: timedelta) -> None:
    if created < now - window:
        raise StaleRequest("The request was signed too long ago.")
    if created > now + window:
        raise StaleRequest("The request is signed with a creation time in the future.")


def _signature_bytes(headers: Headers, label: str) -> bytes:
    try:
        parsed: Any = http_sf.parse(
            ", ".join(headers.getlist("signature")).encode("latin-1"), tltype="dictionary"
        )
    except (ValueError, TypeError) as exc:
        raise SignatureInvalid("Signature is not a structured dictionary.") from exc
    if not isinstance(parsed, dict) or set(parsed) != {label}:
        raise SignatureInvalid("Signature and Signature-Input must carry the same one label.")
    value = parsed[label][0]
    if not isinstance(value, bytes):
        raise SignatureInvalid("The signature must be a byte sequence.")
    return value


def _verify_signature(
    message: _Message, params: _SignatureParams, public_key: bytes, body: bytes
) -> None:
    """Required components covered, then Ed25519 over the signature base, then the digest."""
    required = _required_components(body, message.headers)
    if not set(required) <= set(params.covered):
        raise SignatureInvalid(f"The signature must cover {', '.join(required)}.")
    signature = _signature_bytes(message.headers, params.label)
    try:
        base = signature_base(
            method=message.method,
            target_uri=message.url,
            headers=message.headers,
            covered=params.covered,
            signature_params=params.serialized,
        )
    except UnusableComponent as exc:
        raise SignatureInvalid(str(exc)) from exc
    try:
        load_public_key(public_key).verify(signature, base)
    except BadEd25519Signature as exc:
        raise SignatureInvalid("The request signature does not verify.") from exc
    try:
        # The same combined value the signature covered, not just the first field line.
        ContentDigest.verify(", ".join(message.headers.getlist("content-digest")), body)
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise DigestMismatch("The Content-Digest does not match the request body.") from exc


def _record_nonce(
    session: Session,
    *,
    kind: PrincipalKind,
    params: _SignatureParams,
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


def _principal(row: Row[Any], kind: PrincipalKind, params: _SignatureParams) -> Principal:
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


def _auth_row(session: Session, kind: PrincipalKind, keyid: str) -> Row[Any]:
    if kind == "terminal":
        row = repository.terminal_auth_row(session, keyid)
        unknown: type[GatewayError] = UnknownTerminal
    else:
        row = repository.operator_auth_row(session, keyid)
        unknown = UnknownOperator
    if row is None:
        raise unknown(f"No {kind} is registered under this key id.")
    return row


def _check_active(row: Row[Any], kind: PrincipalKind) -> None:
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
    params = _parse_signature_input(headers)
    now = datetime.now(UTC)
    window = timedelta(seconds=settings.signature_window_seconds)
    _check_fresh(params.created, now=now, window=window)
    message = _Message(method=method, url=url, headers=headers)
    # One short transaction of its own, committed before the route runs.
    with unit_of_work(factory) as session:
        row = _auth_row(session, kind, params.keyid)
        _verify_signature(message, params, row.public_key, body)
        _check_active(row, kind)
        _record_nonce(session, kind=kind, params=params, window=window, now=now)
        return _principal(row, kind, params)


class DeviceCheck(Protocol):
    """The capture devices a request's captures were opened with, checked against the
    database rows of those devices (`gateway.biometrics.sealed.CachedDevices`)."""

    def device_ids(self) -> list[str]: ...

    def check(self, rows: dict[str, DeviceKeyRow]) -> None: ...


@dataclass(frozen=True)
class SignedTerminalRequest:
    """A terminal request whose signature verified against the terminal's key as this process
    last saw it, not yet confirmed: `check` re-reads key and status in the route's own
    transaction (or read snapshot) and `spend_nonce` records the nonce in its write
    transaction, so a terminal revoked a moment ago (by any process) is still refused."""

    terminal: AuthenticatedTerminal
    public_key: bytes
    params: _SignatureParams
    message: _Message
    body: bytes
    window: timedelta
    cache: PrincipalCache

    def check(self, session: Session, devices: DeviceCheck | None = None) -> None:
        """Key and status (the terminal's, then its capture devices') against the database:
        one query, no write (a read snapshot will do; see `signed_unit_of_work`)."""
        row, device_rows = repository.terminal_with_devices(
            session, self.terminal.id, devices.device_ids() if devices is not None else ()
        )
        if row is None:
            raise UnknownTerminal("No terminal is registered under this key id.")
        self.cache.terminals.put(row.id, row)
        if row.public_key != self.public_key:  # re-keyed since: the signature must still hold
            _verify_signature(self.message, self.params, row.public_key, self.body)
        _check_active(row, "terminal")
        if devices is not None:
            devices.check(device_rows)

    def spend_nonce(self, session: Session) -> None:
        """Record the nonce in the caller's transaction: a second copy of the request fails."""
        _record_nonce(
            session, kind="terminal", params=self.params, window=self.window, now=datetime.now(UTC)
        )

    def record_nonce_alone(self, factory: sessionmaker[Session]) -> None:
        """After a confirmed request failed, its nonce stays spent (in a transaction of its
        own), so the refused request cannot be replayed later."""
        try:
            with unit_of_work(factory) as session:
                self.spend_nonce(session)
        except ReplayedRequest:
            pass  # a concurrent copy of the request recorded it


@contextmanager
def signed_unit_of_work(
    factory: sessionmaker[Session],
    signed: SignedTerminalRequest,
    devices: DeviceCheck | None = None,
    *,
    checked: bool = False,
) -> Iterator[Session]:
    """The request's one write transaction: the terminal (and `devices`) checked and its
    nonce recorded first; if the route then fails, the nonce is still recorded (see
    `record_nonce_alone`). `checked`: the caller already ran `signed.check` in a read
    snapshot of this request, so only the nonce is recorded here."""
    confirmed = False
    try:
        with unit_of_work(factory) as session:
            if not checked:
                signed.check(session, devices)
            signed.spend_nonce(session)
            confirmed = True
            yield session
    except BaseException:
        if confirmed:
            signed.record_nonce_alone(factory)
        raise


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
    params = _parse_signature_input(request.headers)
    window = timedelta(seconds=settings.signature_window_seconds)
    _check_fresh(params.created, now=datetime.now(UTC), window=window)
    message = _Message(method=request.method, url=url, headers=request.headers)
    row = cache.terminals.get(params.keyid)
    if row is not None:
        try:
            _verify_signature(message, params, row.public_key, body)
        except SignatureInvalid:
            row = None  # perhaps re-keyed since it was cached: ask the database
        else:
            if row.status != PrincipalStatus.active:
                row = None  # perhaps re-activated since: ask the database
    if row is None:
        if not may_read:
            return None
        with unit_of_work(state.session_factory) as session:
            row = _auth_row(session, "terminal", params.keyid)
        cache.terminals.put(row.id, row)
        _verify_signature(message, params, row.public_key, body)
        _check_active(row, "terminal")
    terminal = _principal(row, "terminal", params)
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


async def _reserve_nonce(request: Request, params: _SignatureParams, window: timedelta) -> None:
    """Refuse a replay before it costs anything: reserved in this process, and not already
    recorded by another (the route's transaction records it for good)."""
    state = request.app.state
    keyid = f"terminal:{params.keyid}"
    expires = (params.created + window).timestamp()
    if not state.nonce_reservations.reserve(keyid, params.nonce, expires_at=expires):
        log.warning("request refused", extra={"reason": ReplayedRequest.code})
        raise ReplayedRequest("This request (keyid, nonce) was already received.")

    def seen() -> bool:
        with state.session_factory() as session:
            return repository.nonce_seen(session, keyid=keyid, nonce=params.nonce)

    if await run_in_threadpool(seen):
        log.warning("request refused", extra={"reason": ReplayedRequest.code})
        raise ReplayedRequest("This request (keyid, nonce) was already received.")


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
