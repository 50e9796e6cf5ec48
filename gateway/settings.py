"""The gateway's one settings class, read from `SATUPINTU_*` environment variables."""

from __future__ import annotations

import base64
import binascii
import json
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.console.settings import ConsoleSettings
from gateway.terminals.settings import SecuritySettings
from gateway.verification.settings import IdentitySettings

# The token signing key file beside the key ring; development and test create it on first use
# and mark it as theirs, so a copy of it can never sign tokens in production.
TOKEN_SIGNING_FILE = "token_signing.json"
DEVELOPMENT_MARK = "generated_for"


class SettingsError(RuntimeError):
    """Raised when settings are unsafe for the environment they are used in."""


class Settings(SecuritySettings, IdentitySettings, ConsoleSettings, BaseSettings):
    """Everything an operator may set; defaults suit a developer laptop and nothing else.

    The security, identity and console sections are declared beside the code that reads them and
    merged here: one class, one `SATUPINTU_` prefix, one validation. Secrets never live in
    settings: keys come from the key ring (files or `SATUPINTU_KEYRING`), which production
    refuses to start without.
    """

    # Errors never repeat what was given: a mistyped secret must not reach a log.
    model_config = SettingsConfigDict(
        env_prefix="SATUPINTU_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "test", "production"] = "development"
    # An embedded SQLite file keeps the two-command setup free of any server.
    database_url: str = ""
    data_dir: Path = Path("var")
    # Key files (KEKs, HMAC keys, signing keys) live outside the database by design.
    key_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Biometric uploads are a few hundred KB; anything far larger is abuse or a mistake.
    max_request_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Programme catalogue (TOML); unset means the shipped example with example amounts.
    programmes_file: Path | None = None
    # Bank adapters by bank code (TOML); unset means simulated banks for development.
    banks_file: Path | None = None
    # A payout reservation not settled within this many seconds is voided or reviewed.
    payout_hold_seconds: int = Field(default=600, ge=30)
    # The request path owns a payout this long before the recovery worker may take it over.
    payout_lease_seconds: float = Field(default=30.0, gt=0)
    # How often the recovery worker looks for payouts a crash or a lost answer left behind.
    payout_recovery_interval_seconds: float = Field(default=5.0, gt=0)
    # Base64 of the raw 32-byte Ed25519 key that signs verification tokens (from the secret
    # store); unset means the key file beside the key ring.
    token_signing_key: SecretStr | None = None
    # A payout the bank has not answered definitely is asked about this long before a
    # person is asked to decide (banks settle late; status services fail for a while).
    payout_query_deadline_hours: float = Field(default=6.0, gt=0)
    # Resolving a payout in review above this amount needs a supervisor's second signature.
    payout_review_second_signature_rupiah: int = Field(default=5_000_000, ge=0)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_development_shortcuts(self) -> Settings:
        """Conveniences of development that would be holes in production are refused there."""
        if self.environment == "production" and self.allow_plaintext_captures:
            raise SettingsError(
                "SATUPINTU_ALLOW_PLAINTEXT_CAPTURES must be false in production: captures "
                "must arrive sealed (HPKE) and signed by a registered capture device"
            )
        if self.environment == "production" and self.token_signing_key is None:
            self._refuse_missing_or_development_signing_file()
        return self

    def _refuse_missing_or_development_signing_file(self) -> None:
        """Production signs tokens with a key an operator provided, never one made for a laptop."""
        path = self.resolved_key_dir / TOKEN_SIGNING_FILE
        if not path.exists():
            raise SettingsError(
                f"no token signing key: set SATUPINTU_TOKEN_SIGNING_KEY or provide {path}"
            )
        try:
            marked = DEVELOPMENT_MARK in json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as exc:
            raise SettingsError(f"token signing key file {path} is unreadable") from exc
        if marked:
            raise SettingsError(
                f"{path} holds a token signing key generated for development; production "
                "needs SATUPINTU_TOKEN_SIGNING_KEY or a file provisioned for it"
            )

    @field_validator("token_signing_key")
    @classmethod
    def _ed25519_key(cls, value: SecretStr | None) -> SecretStr | None:
        """A malformed key is refused at start-up, not at the first token."""
        if value is None:
            return None
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("SATUPINTU_TOKEN_SIGNING_KEY is not base64") from exc
        if len(raw) != 32:
            raise ValueError("SATUPINTU_TOKEN_SIGNING_KEY is not a raw 32-byte Ed25519 key")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'satupintu.db').as_posix()}"

    @cached_property
    def resolved_key_dir(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"
