"""SNAP request signatures, both kinds, as the standard defines them.

- Access token (B2B): `X-SIGNATURE = base64(SHA256withRSA(private key, client_key|X-TIMESTAMP))`,
  verified by the bank with the partner's registered public key.
- Service calls: `X-SIGNATURE = base64(HMAC-SHA512(client secret, string to sign))` where the
  string is `METHOD:relative path:access token:lowercase hex SHA-256 of the minified body:
  X-TIMESTAMP`. Minifying first makes the hash independent of whitespace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.base import WIB


def snap_timestamp(moment: datetime) -> str:
    """ISO 8601 local time with offset, as SNAP examples use (`2026-01-05T09:00:00+07:00`)."""
    return moment.astimezone(WIB).replace(microsecond=0).isoformat()


# JSON's insignificant whitespace (RFC 8259, section 2): what minifying removes, and all it removes.
_JSON_WHITESPACE = frozenset(b" \t\n\r")


def minify(body: bytes) -> bytes:
    """The body with the whitespace between JSON tokens removed (empty for an empty body).

    Tokens stay byte for byte as the sender wrote them: re-serialising would turn `10000.00`
    into `10000.0` or re-escape strings, and the signature of a bank body carrying such a
    literal would no longer verify. The body must still be JSON, so it is parsed first.
    """
    if not body.strip():
        return b""
    json.loads(body)
    out = bytearray()
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # a backslash escapes the next byte
                escaped = True
            elif byte == 0x22:  # an unescaped quote ends the string
                in_string = False
            out.append(byte)
        elif byte not in _JSON_WHITESPACE:
            in_string = byte == 0x22
            out.append(byte)
    return bytes(out)


def dump(body: dict[str, Any]) -> bytes:
    """Serialise a request body already minified, so what is sent is what is signed."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def token_string(client_key: str, timestamp: str) -> bytes:
    return f"{client_key}|{timestamp}".encode()


def sign_token_request(private_key: rsa.RSAPrivateKey, client_key: str, timestamp: str) -> str:
    signature = private_key.sign(
        token_string(client_key, timestamp), padding.PKCS1v15(), hashes.SHA256()
    )
    return base64.b64encode(signature).decode("ascii")


def verify_token_request(
    public_key: rsa.RSAPublicKey, client_key: str, timestamp: str, signature: str
) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True),
            token_string(client_key, timestamp),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def service_string(method: str, path: str, token: str, body: bytes, timestamp: str) -> bytes:
    digest = hashlib.sha256(minify(body)).hexdigest().lower()
    return f"{method.upper()}:{path}:{token}:{digest}:{timestamp}".encode()


def sign_service(
    secret: str, method: str, path: str, token: str, body: bytes, timestamp: str
) -> str:
    mac = hmac.new(
        secret.encode("utf-8"),
        service_string(method, path, token, body, timestamp),
        hashlib.sha512,
    )
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_service(
    secret: str, method: str, path: str, token: str, body: bytes, timestamp: str, signature: str
) -> bool:
    expected = sign_service(secret, method, path, token, body, timestamp)
    return hmac.compare_digest(expected, signature)
