"""RFC 9421 HTTP Message Signatures (ed25519): the checks that need no database.

A request must carry one signature whose `Signature-Input` covers `@method`, `@target-uri`,
`content-digest` (RFC 9530, checked against the body) and, when there is a body,
`content-type`, with the parameters `created`, `nonce` and `keyid` (the terminal or operator
id). These are the cheap checks (shape, freshness) and the signature itself over the base
built by the `http-message-signatures` library; the key comes from the caller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import http_sf
from cryptography.exceptions import InvalidSignature as BadEd25519Signature
from http_message_signatures import ContentDigest, HTTPMessageSignaturesException, InvalidSignature
from http_sf.innerlist import ser_innerlist
from starlette.datastructures import Headers

from gateway.terminals.errors import (
    DigestMismatch,
    SignatureInvalid,
    SignatureMissing,
    StaleRequest,
)
from gateway.terminals.keys import load_public_key
from gateway.terminals.signature_base import UnusableComponent, signature_base

ALGORITHM = "ed25519"
ALWAYS_COVERED = ("@method", "@target-uri", "content-digest")
# RFC 9421 section 2.3's metadata; `tag` is allowed and ignored.
_SIGNATURE_PARAMETERS = frozenset({"created", "expires", "nonce", "alg", "keyid", "tag"})


@dataclass(frozen=True)
class SignatureParams:
    label: str
    keyid: str
    nonce: str
    created: datetime
    covered: tuple[str, ...]
    serialized: str  # the member's canonical form: the base's @signature-params value


@dataclass
class SignedMessage:
    """The parts of a request a signature covers."""

    method: str
    url: str
    headers: Headers


def parse_signature_input(headers: Headers) -> SignatureParams:
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
    return SignatureParams(
        label, keyid, nonce, created_at, covered, ser_innerlist((members, params))
    )


def _required_components(body: bytes, headers: Headers) -> tuple[str, ...]:
    if body or "content-type" in headers:
        return (*ALWAYS_COVERED, "content-type")
    return ALWAYS_COVERED


def check_fresh(created: datetime, *, now: datetime, window: timedelta) -> None:
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


def verify_signature(
    message: SignedMessage, params: SignatureParams, public_key: bytes, body: bytes
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
