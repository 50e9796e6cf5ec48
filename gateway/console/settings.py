"""The console section of the gateway's one `Settings` class."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConsoleSettings(BaseModel):
    """Sign-in sessions, lockout and live refresh of the operators' console."""

    # A working day at a service point; the operator signs in again the next morning.
    console_session_minutes: int = Field(default=480, ge=5, le=24 * 60)
    # Failed sign-ins in a row that lock the account, and for how long: enough for typos,
    # too few (with scrypt's cost) for guessing a 12-character password.
    console_sign_in_attempts: int = Field(default=5, ge=1, le=100)
    console_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # How long the dashboard reuses its count of households due (a scan of the register).
    console_register_count_seconds: float = Field(default=60.0, ge=0, le=3600)
    # How often the dashboard's live part asks for fresh numbers.
    console_refresh_seconds: int = Field(default=5, ge=1, le=600)
