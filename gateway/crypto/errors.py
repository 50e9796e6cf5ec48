"""Typed crypto errors: what went wrong, never which bytes (no key or plaintext in messages)."""

from __future__ import annotations

from gateway.errors import GatewayError, Unauthorized


class KeyRingError(RuntimeError):
    """The key ring is missing or malformed; the gateway must not start without it."""


class EnvelopeError(GatewayError):
    """A stored envelope does not open: wrong record, unknown key or tampered bytes.

    It is a server-side integrity failure, reported without any detail about the record.
    """

    status = 500
    code = "envelope_invalid"


class CapturePayloadError(GatewayError):
    """The sealed capture cannot be opened by this gateway (wrong key, tampered, malformed)."""

    status = 400
    code = "payload_invalid"


class CaptureAuthError(Unauthorized):
    """The capture does not prove it came, fresh, from an active registered device."""

    code = "capture_signature_invalid"
