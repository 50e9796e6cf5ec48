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
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from pydantic import Base64Bytes, BaseModel, Field
from sqlalchemy.orm import Session

from gateway.crypto.errors import CaptureAuthError, CapturePayloadError
from gateway.crypto.keyring import KeyStore, key_store
from gateway.errors import Forbidden
from gateway.terminals import repository
from gateway.terminals.auth import AuthenticatedTerminal
from gateway.terminals.keys import load_public_key
from gateway.terminals.models import PrincipalStatus

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
_INFO_LABEL = b"satupintu/capture/v1"
_SIGNATURE_LABEL = b"satupintu/capture-signature/v1"
# A capture cannot be meaningfully signed in the future; allow small device clock drift.
_FUTURE_SKEW = timedelta(seconds=5)


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


class CaptureStale(CaptureAuthError):
    code = "capture_stale"


class CaptureSignatureMissing(CaptureAuthError):
    code = "capture_signature_missing"


class CaptureDeviceUnknown(CaptureAuthError):
    code = "capture_device_unknown"


class CaptureDeviceInactive(Forbidden):
    code = "capture_device_inactive"


class PayloadWrongKey(CapturePayloadError):
    code = "payload_wrong_key"


def open_capture(
    sealed: SealedCapture,
    *,
    terminal: AuthenticatedTerminal,
    session: Session,
    window_seconds: int = 120,
    store: KeyStore | None = None,
    now: datetime | None = None,
) -> bytes:
    """The raw capture, once proven fresh, from an active device of this terminal, for this
    request, and sealed to a current gateway key. Raises typed 4xx errors otherwise."""
    if not sealed.device_signature:
        raise CaptureSignatureMissing("The capture carries no capture-device signature.")
    now = now or datetime.now(UTC)
    taken = datetime.fromtimestamp(sealed.captured_at / 1000, UTC)
    if taken < now - timedelta(seconds=window_seconds) or taken > now + _FUTURE_SKEW:
        raise CaptureStale("The capture is too old, or dated in the future.")
    device = repository.get_device(session, sealed.device_id)
    if device is None or device.terminal_id != terminal.id:
        raise CaptureDeviceUnknown("The capture device is not registered to this terminal.")
    if device.status != PrincipalStatus.active:
        raise CaptureDeviceInactive(f"The capture device is {device.status.value}.")
    store = store or key_store()
    private = store.current().hpke_private(sealed.key_id)
    if private is None:
        private = store.refresh().hpke_private(sealed.key_id)
    if private is None:
        raise PayloadWrongKey("The capture is sealed to a key this gateway no longer accepts.")
    info = capture_info(
        terminal_id=terminal.id,
        nonce=terminal.nonce,
        device_id=sealed.device_id,
        captured_at=sealed.captured_at,
        key_id=sealed.key_id,
    )
    try:
        capture = SUITE.decrypt(sealed.ciphertext, private, info=info)
    except InvalidTag as exc:
        # Wrong recipient key, another request's context and tampering all look alike here.
        raise PayloadWrongKey(
            "The capture does not open with this gateway's key for this request."
        ) from exc
    message = capture_signed_message(
        terminal_id=terminal.id,
        nonce=terminal.nonce,
        device_id=sealed.device_id,
        captured_at=sealed.captured_at,
        capture=capture,
    )
    try:
        load_public_key(device.public_key).verify(sealed.device_signature, message)
    except InvalidSignature as exc:
        raise CaptureAuthError("The capture-device signature does not verify.") from exc
    return capture
