"""Password hashes for console sign-in: scrypt from the standard library.

scrypt is memory-hard (RFC 7914), so guessing from a stolen table costs memory as well as
time; the parameters (n=2**14, r=8, p=1: 16 MiB, about 50 ms here) are OWASP's minimum
recommendation for scrypt and travel in the hash, so raising them later leaves old hashes
readable."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_KEY_BYTES = 32
# A password longer than this is refused before hashing: scrypt's cost grows with it.
MAX_LENGTH = 256
MIN_LENGTH = 12


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=64 * 2**20
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(password, salt, _N, _R, _P)
    encoded = (base64.b64encode(part).decode("ascii") for part in (salt, key))
    return "$".join(("scrypt", str(_N), str(_R), str(_P), *encoded))


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` gives `stored`; a malformed hash verifies nothing."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        derived = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, expected)


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the operator is unknown, so timing does not tell."""
    return hash_password(secrets.token_urlsafe(16))
