"""Opening a sealed capture inside its request: the device registered to the terminal, its
signature, the capture's age, then the HPKE envelope (the format is `gateway.crypto.capture`).

Here rather than in `crypto` because it needs the terminals' device registry: the key
material is crypto's, the question "is this device this terminal's, and active" is not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto.capture import SUITE, SealedCapture, capture_info, capture_signed_message
from gateway.crypto.errors import CaptureAuthError, CapturePayloadError
from gateway.crypto.keyring import KeyStore, key_store
from gateway.db import unit_of_work
from gateway.errors import Forbidden
from gateway.terminals import repository
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.terminals.keys import load_public_key
from gateway.terminals.models import PrincipalStatus
from gateway.terminals.principals import PrincipalCache
from gateway.terminals.repository import DeviceKeyRow

# A capture cannot be meaningfully signed in the future; allow small device clock drift.
_FUTURE_SKEW = timedelta(seconds=5)


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


class DeviceKey(Protocol):
    """What opening a capture needs of its device (an ORM row or a Core row alike)."""

    @property
    def terminal_id(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    @property
    def status(self) -> PrincipalStatus: ...


DeviceLookup = Callable[[str], DeviceKey | None]


class CachedDevices:
    """Device keys from the process's cache (read from the database on a miss), remembering
    which key each device was used with, so the request's transaction can confirm them
    (`check`, called by `SignedTerminalRequest.confirm`)."""

    def __init__(
        self, cache: PrincipalCache, factory: sessionmaker[Session], terminal_id: str
    ) -> None:
        self._cache = cache
        self._factory = factory
        self._terminal_id = terminal_id
        self.used: dict[str, bytes] = {}

    def __call__(self, device_id: str) -> DeviceKey | None:
        row = self._cache.devices.get(device_id)
        if row is None or row.status != PrincipalStatus.active:
            with unit_of_work(self._factory) as session:
                row = repository.device_key_rows(session, [device_id]).get(device_id)
            if row is None:
                return None
            self._cache.devices.put(device_id, row)
        self.used[device_id] = row.public_key
        return row

    def device_ids(self) -> list[str]:
        return list(self.used)

    def check(self, rows: dict[str, DeviceKeyRow]) -> None:
        """Every device used is still this terminal's, active, and holds the same key."""
        for device_id, key in self.used.items():
            row = rows.get(device_id)
            if row is None or row.terminal_id != self._terminal_id:
                raise CaptureDeviceUnknown("The capture device is not registered to this terminal.")
            self._cache.devices.put(device_id, row)
            if row.status != PrincipalStatus.active:
                raise CaptureDeviceInactive(f"The capture device is {row.status.value}.")
            if row.public_key != key:
                raise CaptureAuthError("The capture-device signature does not verify.")


def open_capture(
    sealed: SealedCapture,
    *,
    terminal: AuthenticatedTerminal,
    session: Session | None = None,
    devices: DeviceLookup | None = None,
    window_seconds: int = 120,
    store: KeyStore | None = None,
    now: datetime | None = None,
) -> bytes:
    """The raw capture, once proven fresh, from an active device of this terminal, for this
    request, and sealed to a current gateway key. Raises typed 4xx errors otherwise.

    The device comes from `devices` when given (then confirmed by the caller, see
    `confirm_devices`), else from the database through `session`."""
    if not sealed.device_signature:
        raise CaptureSignatureMissing("The capture carries no capture-device signature.")
    now = now or datetime.now(UTC)
    taken = datetime.fromtimestamp(sealed.captured_at / 1000, UTC)
    if taken < now - timedelta(seconds=window_seconds) or taken > now + _FUTURE_SKEW:
        raise CaptureStale("The capture is too old, or dated in the future.")
    device: DeviceKey | None
    if devices is not None:
        device = devices(sealed.device_id)
    else:
        assert session is not None
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
