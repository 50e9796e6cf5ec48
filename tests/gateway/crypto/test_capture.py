"""HPKE-sealed captures open only in their request, from a registered device, while fresh."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gateway.biometrics.sealed import open_capture
from gateway.client import GatewayKey, seal_capture
from gateway.crypto.capture import SUITE, SealedCapture
from gateway.crypto.keyring import key_store
from gateway.errors import GatewayError
from gateway.terminals.identity import AuthenticatedTerminal
from tests.gateway.signing import TerminalIdentity, register_terminal

CAPTURE = b"FMR\x00 20\x00" + bytes(range(200))
NONCE = "request-nonce-0001"


def _as_authenticated(terminal: TerminalIdentity, nonce: str = NONCE) -> AuthenticatedTerminal:
    return AuthenticatedTerminal(
        id=terminal.id,
        agent_name="Warung Test",
        bank_code="BRI",
        province_code=terminal.province_code,
        regency_code=terminal.regency_code,
        nonce=nonce,
        created=datetime.now(UTC),
    )


def _seal(terminal: TerminalIdentity, key: GatewayKey, **overrides: Any) -> SealedCapture:
    kwargs: dict[str, Any] = {
        "gateway_key": key,
        "terminal_id": terminal.id,
        "nonce": NONCE,
        "device_id": terminal.device_id,
        "device_key": terminal.device_key,
    } | overrides
    return SealedCapture.model_validate(seal_capture(CAPTURE, **kwargs))


def _refusal(
    sealed: SealedCapture, terminal: AuthenticatedTerminal, factory: sessionmaker[Session]
) -> tuple[int, str]:
    with factory() as session, pytest.raises(GatewayError) as refused:
        open_capture(sealed, terminal=terminal, session=session)
    return refused.value.status, refused.value.code


def test_sealed_capture_opens_in_its_own_request(
    terminal: TerminalIdentity, gateway_key: GatewayKey, session_factory: sessionmaker[Session]
) -> None:
    sealed = _seal(terminal, gateway_key)
    assert CAPTURE not in sealed.ciphertext
    assert len(sealed.ciphertext) == 32 + len(CAPTURE) + 16  # X25519 enc || ct || tag
    with session_factory() as session:
        assert (
            open_capture(sealed, terminal=_as_authenticated(terminal), session=session) == CAPTURE
        )


def test_capture_moved_to_another_request_or_terminal_fails(
    terminal: TerminalIdentity, gateway_key: GatewayKey, session_factory: sessionmaker[Session]
) -> None:
    sealed = _seal(terminal, gateway_key)
    other_request = _as_authenticated(terminal, nonce="another-nonce-0002")
    assert _refusal(sealed, other_request, session_factory) == (400, "payload_wrong_key")
    other = register_terminal(session_factory, "T-OTHER")
    assert _refusal(sealed, _as_authenticated(other), session_factory) == (
        401,
        "capture_device_unknown",
    )


def test_wrong_recipient_key_is_refused(
    terminal: TerminalIdentity, gateway_key: GatewayKey, session_factory: sessionmaker[Session]
) -> None:
    impostor = GatewayKey(gateway_key.key_id, X25519PrivateKey.generate().public_key())
    sealed = _seal(terminal, impostor)
    assert _refusal(sealed, _as_authenticated(terminal), session_factory) == (
        400,
        "payload_wrong_key",
    )
    unknown = GatewayKey("hpke-unknown", gateway_key.public_key)
    assert _refusal(_seal(terminal, unknown), _as_authenticated(terminal), session_factory) == (
        400,
        "payload_wrong_key",
    )


def test_device_signature_must_be_present_valid_and_from_the_registered_key(
    terminal: TerminalIdentity, gateway_key: GatewayKey, session_factory: sessionmaker[Session]
) -> None:
    me = _as_authenticated(terminal)
    unsigned = _seal(terminal, gateway_key, device_key=None)
    assert _refusal(unsigned, me, session_factory) == (401, "capture_signature_missing")
    forged = _seal(terminal, gateway_key, device_key=Ed25519PrivateKey.generate())
    assert _refusal(forged, me, session_factory) == (401, "capture_signature_invalid")
    unknown = _seal(terminal, gateway_key, device_id="D-NOT-REGISTERED")
    assert _refusal(unknown, me, session_factory) == (401, "capture_device_unknown")


def test_stale_and_future_captures_are_refused(
    terminal: TerminalIdentity, gateway_key: GatewayKey, session_factory: sessionmaker[Session]
) -> None:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    me = _as_authenticated(terminal)
    old = _seal(terminal, gateway_key, captured_at_ms=now_ms - 10 * 60 * 1000)
    future = _seal(terminal, gateway_key, captured_at_ms=now_ms + 60 * 1000)
    assert _refusal(old, me, session_factory) == (401, "capture_stale")
    assert _refusal(future, me, session_factory) == (401, "capture_stale")


def test_altered_capture_time_breaks_the_seal(
    terminal: TerminalIdentity, gateway_key: GatewayKey, session_factory: sessionmaker[Session]
) -> None:
    sealed = _seal(terminal, gateway_key)
    shifted = sealed.model_copy(update={"captured_at": sealed.captured_at - 1000})
    assert _refusal(shifted, _as_authenticated(terminal), session_factory) == (
        400,
        "payload_wrong_key",
    )


def test_previous_key_is_accepted_during_rotation_then_retired(
    api: TestClient, terminal: TerminalIdentity, session_factory: sessionmaker[Session]
) -> None:
    published = api.get("/v1/keys/biometric").json()
    assert published["suite"] == "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
    assert published["previous"] is None
    first = GatewayKey.from_published(published["current"])
    store = key_store()
    store.save(store.current().with_new_hpke())
    rotated = api.get("/v1/keys/biometric").json()
    assert rotated["previous"]["key_id"] == first.key_id
    assert rotated["current"]["key_id"] != first.key_id
    me = _as_authenticated(terminal)
    with session_factory() as session:
        assert open_capture(_seal(terminal, first), terminal=me, session=session) == CAPTURE
    store.save(store.current().with_new_hpke())
    assert _refusal(_seal(terminal, first), me, session_factory) == (400, "payload_wrong_key")


def test_suite_round_trip_matches_rfc9180_shapes() -> None:
    """X25519 `enc` is 32 bytes (RFC 9180 §7.1, Nenc); AES-256-GCM adds a 16-byte tag."""
    recipient = X25519PrivateKey.generate()
    sealed = SUITE.encrypt(b"", recipient.public_key(), info=b"ctx")
    assert len(sealed) == 32 + 16
    assert SUITE.decrypt(sealed, recipient, info=b"ctx") == b""
    public = base64.b64encode(recipient.public_key().public_bytes_raw()).decode()
    assert GatewayKey.from_published({"key_id": "k", "public_key": public}).key_id == "k"
