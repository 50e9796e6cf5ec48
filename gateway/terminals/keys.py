"""Ed25519 public keys as the registry stores and the API shows them (raw 32 bytes, base64)."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gateway.errors import InvalidInput


def parse_public_key(text: str) -> bytes:
    """Accept raw base64 (32 bytes) or a PEM SubjectPublicKeyInfo; return the raw key."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_public_key(text.encode("ascii"))
        except ValueError as exc:
            raise InvalidInput("The public key PEM does not parse.", code="bad_public_key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidInput("The public key must be Ed25519.", code="bad_public_key")
        return key.public_bytes_raw()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("The public key is not base64.", code="bad_public_key") from exc
    if len(raw) != 32:
        raise InvalidInput("An Ed25519 public key has 32 bytes.", code="bad_public_key")
    return raw


def encode_public_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@lru_cache(maxsize=4096)
def load_public_key(raw: bytes) -> Ed25519PublicKey:
    """The key object for raw bytes, parsed once: every signed request needs one, and a key is
    immutable (a rekey registers new bytes, so a cached old key is never looked up again)."""
    return Ed25519PublicKey.from_public_bytes(raw)
