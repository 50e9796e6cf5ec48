"""Verification tokens: the only credential a payout accepts.

A token is `spv1.<claims>.<signature>`: base64url JSON claims signed by the gateway's Ed25519
key. The claims bind it to one person, one terminal and one verify request, and it expires
after a short lifetime (120 s by default). The signature lets anyone holding the gateway's
public key check a token offline; single use needs server state, so every issued token also
has a row, and `consume_token` spends it with one conditional UPDATE (its row RETURNING what
the payout needs; the references come from the signed claims), which two concurrent payouts
cannot both win (the loser's UPDATE matches no row once the winner commits).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.errors import Conflict, Forbidden, Unauthorized
from gateway.verification import repository
from gateway.verification.signing import gateway_public_key, sign_with_gateway_key

PREFIX = "spv1"
DEFAULT_TTL_SECONDS = 120


class TokenInvalid(Unauthorized):
    """Malformed, unknown or forged: the token proves nothing."""

    code = "token_invalid"


class TokenExpired(Unauthorized):
    code = "token_expired"


class TokenWrongTerminal(Forbidden):
    code = "token_wrong_terminal"


class TokenUsed(Conflict):
    code = "token_used"


class TerminalLike(Protocol):
    """Anything with the authenticated terminal's id (the security domain's principal)."""

    @property
    def id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    token_id: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a spent token proves: who was verified, where, when, and whether by fallback."""

    token_id: str
    person_id: int
    household_id: int
    person_reference: str
    household_reference: str
    terminal_id: str
    request_digest: str
    fallback: bool
    issued_at: dt.datetime
    expires_at: dt.datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    *,
    session: Session,
    person_id: int,
    household_id: int,
    person_reference: str,
    household_reference: str,
    terminal_id: str,
    request_digest: str,
    fallback: bool = False,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: dt.datetime | None = None,
) -> IssuedToken:
    """Sign a token for a successful verification and record it as unspent."""
    now = now or utcnow()
    expires_at = now + dt.timedelta(seconds=ttl_seconds)
    token_id = secrets.token_hex(16)
    claims = {
        "jti": token_id,
        "sub": person_reference,
        "hh": household_reference,
        "trm": terminal_id,
        "req": request_digest,
        "fb": fallback,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    body = f"{PREFIX}.{_b64(json.dumps(claims, separators=(',', ':'), sort_keys=True).encode())}"
    kid, signature = sign_with_gateway_key(body.encode("ascii"))
    repository.insert_token(
        session,
        {
            "id": token_id,
            "person_id": person_id,
            "household_id": household_id,
            "terminal_id": terminal_id,
            "request_digest": request_digest,
            "fallback": fallback,
            "issued_at": now,
            "expires_at": expires_at,
            "consumed_at": None,
        },
    )
    return IssuedToken(
        token=f"{body}.{kid}.{_b64(signature)}", token_id=token_id, expires_at=expires_at
    )


def read_token(token: str) -> dict[str, object]:
    """Check format and signature; the claims of a genuine token (not yet its state)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] != PREFIX or len(token) > 2048:
        raise TokenInvalid("The verification token is malformed.")
    body, kid, signature = f"{parts[0]}.{parts[1]}", parts[2], parts[3]
    try:
        key = gateway_public_key(kid)
        key.verify(_unb64(signature), body.encode("ascii"))
        claims = json.loads(_unb64(parts[1]))
    except (InvalidSignature, binascii.Error, ValueError, LookupError, UnicodeError):
        raise TokenInvalid("The verification token was not issued by this gateway.") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("jti"), str):
        raise TokenInvalid("The verification token is malformed.")
    return claims


def consume_token(
    *,
    session: Session,
    token: str,
    terminal: TerminalLike | str,
    now: dt.datetime | None = None,
) -> TokenClaims:
    """Spend a token for `terminal`: refuse forged, expired, foreign or already spent ones.

    The spend is part of the caller's transaction: if the payout rolls back, the token is
    unspent again, and of two concurrent payouts with one token only one can commit.
    """
    now = now or utcnow()
    terminal_id = terminal if isinstance(terminal, str) else terminal.id
    claims = read_token(token)
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= int(now.timestamp()):
        raise TokenExpired("The verification token has expired; verify the person again.")
    if claims.get("trm") != terminal_id:
        raise TokenWrongTerminal("The verification token was issued to another terminal.")
    token_id = str(claims["jti"])
    person_reference, household_reference = claims.get("sub"), claims.get("hh")
    if not isinstance(person_reference, str) or not isinstance(household_reference, str):
        raise TokenInvalid("The verification token does not name a person and household.")
    spent = repository.spend_token(session, token_id=token_id, terminal_id=terminal_id, now=now)
    if spent is None:
        state = repository.token_state(session, token_id)
        if state is None:
            raise TokenInvalid("The verification token is unknown.")
        if state.terminal_id != terminal_id:
            raise TokenWrongTerminal("The verification token was issued to another terminal.")
        if state.expires_at <= now:
            raise TokenExpired("The verification token has expired; verify the person again.")
        raise TokenUsed("The verification token has already been used.")
    return TokenClaims(
        token_id=token_id,
        person_id=spent.person_id,
        household_id=spent.household_id,
        person_reference=person_reference,
        household_reference=household_reference,
        terminal_id=terminal_id,
        request_digest=spent.request_digest,
        fallback=spent.fallback,
        issued_at=spent.issued_at,
        expires_at=spent.expires_at,
    )
