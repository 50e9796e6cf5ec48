"""Biometric captures sealed end to end, capture device -> gateway, with HPKE (RFC 9180).

Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode, single shot, from
`cryptography.hazmat.primitives.hpke`; the ciphertext is `enc || ct`. The HPKE `info`
binds the terminal, the request's signed nonce, the device, the capture time and the gateway
key id, so a sealed capture opens only inside the one request it was made for. The capture
device also signs (Ed25519, its own key registered to the terminal) the SHA-256 of the raw
capture with the same context, so host software can neither inject a capture of its own nor
replay one: it has neither the device key nor a nonce the gateway has not already seen.
"""

from __future__ import annotations

import hashlib
import struct

from cryptography.hazmat.primitives import hpke
from pydantic import Base64Bytes, BaseModel, Field

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
_INFO_LABEL = b"satupintu/capture/v1"
_SIGNATURE_LABEL = b"satupintu/capture-signature/v1"


class SealedCapture(BaseModel):
    """What a terminal sends for one biometric capture; opaque to everything but the gateway."""

    key_id: str = Field(max_length=64, description="Gateway HPKE key id it is sealed to")
    device_id: str = Field(max_length=64, description="The capture device that produced it")
    captured_at: int = Field(
        ge=0, lt=10**14, description="Capture time, Unix milliseconds (device clock)"
    )
    ciphertext: Base64Bytes = Field(description="HPKE enc || ct, base64")
    device_signature: Base64Bytes | None = Field(
        default=None, description="Ed25519 signature by the capture device, base64"
    )


def _field(value: str) -> bytes:
    encoded = value.encode("utf-8")
    return struct.pack(">H", len(encoded)) + encoded


def capture_info(
    *, terminal_id: str, nonce: str, device_id: str, captured_at: int, key_id: str
) -> bytes:
    """The HPKE info: length-prefixed fields so no two contexts serialise alike."""
    return (
        _INFO_LABEL
        + _field(terminal_id)
        + _field(nonce)
        + _field(device_id)
        + _field(key_id)
        + struct.pack(">q", captured_at)
    )


def capture_signed_message(
    *, terminal_id: str, nonce: str, device_id: str, captured_at: int, capture: bytes
) -> bytes:
    """What the capture device signs: the context, the time and SHA-256 of the raw capture."""
    return (
        _SIGNATURE_LABEL
        + _field(terminal_id)
        + _field(nonce)
        + _field(device_id)
        + struct.pack(">q", captured_at)
        + hashlib.sha256(capture).digest()
    )
