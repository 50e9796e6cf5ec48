"""The terminal side: sign requests (RFC 9421 + RFC 9530) and seal captures (RFC 9180).

Used by terminal software, the tests and the Locust load tests::

    signer = RequestSigner(key_id="T-0001", private_key=terminal_key)
    with httpx.Client(base_url=url, auth=SignatureAuth(signer)) as client:
        nonce = new_nonce()
        sealed = seal_capture(raw, gateway_key=published, terminal_id="T-0001", nonce=nonce,
                              device_id="D-1", device_key=device_key)
        client.post("/v1/verify", json={"capture": sealed}, extensions={NONCE_EXTENSION: nonce})

A capture is sealed for one request, so the nonce is chosen first and handed to both.

Capture devices that deliver ISO/IEC 19794-4 finger image or 19794-6 iris image records send
them as they are (`"format": "iso19794-4"` / `"iso19794-6"`); for sensors that give pixels,
`finger_image_record` and `iris_image_record` wrap them the way such devices do (WSQ at the
sensor's resolution, JPEG 2000), so the gateway reads the resolution from the record::

    record = finger_image_record(pixels, position=2, resolution_dpi=500)
    finger = {"position": 2, "format": "iso19794-4", "sealed": seal_capture(record, ...)}
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    MappingKeyResolver,
    algorithms,
)

from gateway.crypto.capture import SUITE, capture_info, capture_signed_message
from matcher.records.capture import finger_image_record, iris_image_record

__all__ = [
    "NONCE_EXTENSION",
    "GatewayKey",
    "RequestSigner",
    "SignatureAuth",
    "finger_image_record",
    "iris_image_record",
    "new_nonce",
    "seal_capture",
]

# Pass `extensions={NONCE_EXTENSION: nonce}` on a request to sign it with a chosen nonce.
NONCE_EXTENSION = "satupintu_nonce"
SIGNATURE_LABEL = "sig"


def new_nonce() -> str:
    """128 bits of randomness, URL-safe: unique per request for the replay store."""
    return secrets.token_urlsafe(16)


class _Sha512Digest(ContentDigest):
    algorithm = "sha-512"


@dataclass
class _Message:
    method: str
    url: str
    headers: httpx.Headers


class RequestSigner:
    """Signs an `httpx.Request` in place for one terminal or operator key."""

    def __init__(
        self,
        *,
        key_id: str,
        private_key: Ed25519PrivateKey,
        digest: Literal["sha-256", "sha-512"] = "sha-256",
    ) -> None:
        self.key_id = key_id
        self._signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519,
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
        )
        if digest == "sha-512":
            self._signer.content_digest_class = _Sha512Digest

    def sign(
        self, request: httpx.Request, *, nonce: str | None = None, created: int | None = None
    ) -> None:
        body = request.read()
        for name in ("content-digest", "signature", "signature-input"):
            request.headers.pop(name, None)
        covered = ["@method", "@target-uri", "content-digest"]
        if "content-type" in request.headers:
            covered.append("content-type")
        self._signer.sign(
            _Message(request.method, str(request.url), request.headers),
            key_id=self.key_id,
            created=datetime.fromtimestamp(created if created is not None else time.time(), UTC),
            nonce=nonce or new_nonce(),
            label=SIGNATURE_LABEL,
            covered_component_ids=covered,
            body=body,
        )


class SignatureAuth(httpx.Auth):
    """httpx auth hook: every request leaves signed (nonce from the request's extensions)."""

    requires_request_body = True

    def __init__(self, signer: RequestSigner) -> None:
        self.signer = signer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.signer.sign(request, nonce=request.extensions.get(NONCE_EXTENSION))
        yield request


@dataclass(frozen=True)
class GatewayKey:
    """The gateway's published HPKE key (`GET /v1/keys/biometric`)."""

    key_id: str
    public_key: X25519PublicKey

    @classmethod
    def from_published(cls, entry: dict[str, Any]) -> GatewayKey:
        raw = base64.b64decode(entry["public_key"])
        return cls(key_id=entry["key_id"], public_key=X25519PublicKey.from_public_bytes(raw))


def seal_capture(
    capture: bytes,
    *,
    gateway_key: GatewayKey,
    terminal_id: str,
    nonce: str,
    device_id: str,
    device_key: Ed25519PrivateKey | None,
    captured_at_ms: int | None = None,
) -> dict[str, Any]:
    """What the capture device produces: a JSON-ready `SealedCapture` for this one request.

    `device_key=None` leaves the signature out (only the attack tests want that).
    """
    taken = captured_at_ms if captured_at_ms is not None else int(time.time() * 1000)
    info = capture_info(
        terminal_id=terminal_id,
        nonce=nonce,
        device_id=device_id,
        captured_at=taken,
        key_id=gateway_key.key_id,
    )
    sealed: dict[str, Any] = {
        "key_id": gateway_key.key_id,
        "device_id": device_id,
        "captured_at": taken,
        "ciphertext": base64.b64encode(
            SUITE.encrypt(capture, gateway_key.public_key, info=info)
        ).decode("ascii"),
        "device_signature": None,
    }
    if device_key is not None:
        message = capture_signed_message(
            terminal_id=terminal_id,
            nonce=nonce,
            device_id=device_id,
            captured_at=taken,
            capture=capture,
        )
        sealed["device_signature"] = base64.b64encode(device_key.sign(message)).decode("ascii")
    return sealed
