"""The capture context of one terminal request: who sent the captures, and what the gateway
accepts from it. Built here so every route that takes captures opens them the same way."""

from __future__ import annotations

from typing import Protocol

from fastapi import Request
from sqlalchemy.orm import Session

from gateway.biometrics.captures import CaptureContext
from gateway.biometrics.sealed import DeviceLookup
from gateway.terminals.identity import AuthenticatedTerminal


class CapturePolicy(Protocol):
    """The one setting of the identity domains that decides how captures are opened."""

    allow_plaintext_captures: bool


def capture_context(
    request: Request,
    session: Session | None,
    terminal: AuthenticatedTerminal,
    devices: DeviceLookup | None = None,
) -> CaptureContext:
    """Device keys come from `devices` when given (confirmed later by the caller), else from
    `session`."""
    policy: CapturePolicy = request.app.state.identity_settings
    return CaptureContext(
        session=session,
        terminal=terminal,
        allow_plaintext=policy.allow_plaintext_captures,
        capture_window_seconds=request.app.state.security_settings.capture_window_seconds,
        devices=devices,
    )
