"""Hooks `gateway.app` calls: routes and limiters at build time, the key ring at start-up."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.audit import endpoints as audit_endpoints
from gateway.crypto import endpoints as key_endpoints
from gateway.crypto.keyring import KeyStore, install_key_store
from gateway.settings import Settings
from gateway.terminals import endpoints as terminal_endpoints
from gateway.terminals import openapi
from gateway.terminals.auth import signature_first
from gateway.terminals.principals import PrincipalCache
from gateway.terminals.ratelimit import TokenBucketLimiter
from gateway.terminals.replay import NonceReservations
from gateway.terminals.settings import SecuritySettings


def install(app: FastAPI, settings: Settings) -> None:
    """Routes, security settings and per-process rate limiters (tests may replace them)."""
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
    app.include_router(terminal_endpoints.router)
    app.include_router(key_endpoints.router)
    app.include_router(audit_endpoints.router)
    openapi.install(app)


def start(app: FastAPI, settings: Settings) -> None:
    """Load (in development: create) the key ring; production refuses to start without it."""
    store = KeyStore.from_settings(settings)
    app.state.key_store = store
    app.state.previous_key_store = install_key_store(store)


def stop(app: FastAPI) -> None:
    install_key_store(getattr(app.state, "previous_key_store", None))
