"""Hooks `gateway.app` calls: the terminals' security settings, limiters and caches."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.settings import Settings
from gateway.terminals.auth import signature_first
from gateway.terminals.principals import PrincipalCache
from gateway.terminals.ratelimit import TokenBucketLimiter
from gateway.terminals.replay import NonceReservations
from gateway.terminals.settings import SecuritySettings


def install(app: FastAPI, settings: Settings) -> None:
    """Security settings, caches and per-process rate limiters (tests may replace them)."""
    security: SecuritySettings = settings
    app.state.security_settings = security
    app.state.principal_cache = PrincipalCache()
    app.state.nonce_reservations = NonceReservations()
    app.state.signature_first = signature_first
    app.state.terminal_rate_limiter = TokenBucketLimiter(
        rate_per_minute=security.terminal_rate_per_minute,
        burst=security.terminal_burst,
        scope="terminal",
    )
    app.state.person_rate_limiter = TokenBucketLimiter(
        rate_per_minute=security.person_rate_per_minute,
        burst=security.person_burst,
        scope="person",
    )
