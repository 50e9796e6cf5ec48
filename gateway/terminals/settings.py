"""The security section of the gateway's one `Settings` class, kept beside the code reading it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SecuritySettings(BaseModel):
    """Freshness windows and rate limits; defaults follow the service targets and field practice."""

    # A signed request older (or newer) than this is refused; also how long nonces are kept.
    signature_window_seconds: int = Field(default=60, ge=1, le=3600)
    # A capture may be taken a little before the request carrying it is signed.
    capture_window_seconds: int = Field(default=120, ge=1, le=3600)
    # Behind a TLS-terminating proxy the gateway sees http://internal-host; terminals sign
    # the URL they called. Set this (e.g. https://gateway.example.go.id) to verify against it.
    public_base_url: str | None = None
    # Token bucket per terminal: a real agent serves at most a few people a minute.
    terminal_rate_per_minute: float = Field(default=120.0, gt=0)
    terminal_burst: int = Field(default=30, ge=1)
    # Per person: repeated attempts on one person are the pattern of a presentation attack.
    person_rate_per_minute: float = Field(default=10.0, gt=0)
    person_burst: int = Field(default=5, ge=1)
