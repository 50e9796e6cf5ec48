"""Who may talk to the gateway: terminals, their capture devices, operators, and seen nonces."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime, utcnow


class PrincipalStatus(enum.StrEnum):
    """Only `active` principals are served; `revoked` is final, `suspended` is not."""

    active = "active"
    suspended = "suspended"
    revoked = "revoked"


class OperatorRole(enum.StrEnum):
    """Operators run the registry (`ops`), adjudicate cases (`case_worker`), read (`auditor`)
    or give the second signature on large money decisions (`supervisor`)."""

    ops = "ops"
    case_worker = "case_worker"
    auditor = "auditor"
    supervisor = "supervisor"


_status_enum = Enum(
    PrincipalStatus, name="principal_status", native_enum=False, validate_strings=True, length=16
)


class Terminal(Base):
    """An agent's payout terminal; it signs every request with its Ed25519 key."""

    __tablename__ = "terminals"
    __table_args__ = (Index("ix_terminals_region", "province_code", "regency_code"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_name: Mapped[str] = mapped_column(String(200))
    bank_code: Mapped[str] = mapped_column(String(16), index=True)
    # NIK-style region codes: province (2 digits) and regency within it (2 digits).
    province_code: Mapped[str] = mapped_column(String(2))
    regency_code: Mapped[str] = mapped_column(String(2))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[PrincipalStatus] = mapped_column(_status_enum, default=PrincipalStatus.active)
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CaptureDevice(Base):
    """A fingerprint/iris sensor attached to a terminal; it signs each capture it produces."""

    __tablename__ = "capture_devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id"), index=True)
    model: Mapped[str] = mapped_column(String(100), default="")
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[PrincipalStatus] = mapped_column(_status_enum, default=PrincipalStatus.active)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Operator(Base):
    """A person at the ministry or bank using the ops API; signs requests like a terminal."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[OperatorRole] = mapped_column(
        Enum(OperatorRole, name="operator_role", native_enum=False, length=16)
    )
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[PrincipalStatus] = mapped_column(_status_enum, default=PrincipalStatus.active)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SeenNonce(Base):
    """A (keyid, nonce) pair already accepted; the primary key makes a replay fail to insert.

    Rows outlive their request only as long as a request with that `created` could still be
    inside the freshness window; after `expires_at` the window check refuses it anyway.
    """

    __tablename__ = "seen_nonces"

    keyid: Mapped[str] = mapped_column(String(80), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
