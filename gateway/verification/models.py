"""Verification records, tokens, lockouts and case workers (pendamping)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.crypto.registry import SealedBytes
from gateway.db import Base, UtcDateTime, utcnow
from gateway.terminals import models as terminal_models  # case_workers.operator_id → operators


class VerificationRecord(Base):
    """Who verified whom, where, when, with what outcome and scores; never a raw biometric."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    terminal_id: Mapped[str] = mapped_column(String(64))
    terminal_region: Mapped[str | None] = mapped_column(String(16), nullable=True)
    mode: Mapped[str] = mapped_column(String(16))
    modality: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    fmr: Mapped[float | None] = mapped_column(Float, nullable=True)
    scope: Mapped[str | None] = mapped_column(String(16), nullable=True)
    token_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    case_worker_id: Mapped[int | None] = mapped_column(ForeignKey("case_workers.id"), nullable=True)
    fallback_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Captures compared, by modality: the evidence region policy's step-up asks for.
    fingers: Mapped[int] = mapped_column(Integer, default=0)
    irises: Mapped[int] = mapped_column(Integer, default=0)
    # The keyed NIK hash of a 1:1 attempt on a NIK not in the register (its failures lock
    # like a registered NIK's, so the answers do not tell the two apart).
    nik_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)

    __table_args__ = (
        Index("ix_verifications_person_at", "person_id", "at"),
        Index("ix_verifications_terminal_at", "terminal_id", "at"),
        Index("ix_verifications_token_id", "token_id"),
        Index("ix_verifications_nik_hash", "nik_hash"),
    )


class VerificationToken(Base):
    """Server-side state of an issued token: what makes it single-use."""

    __tablename__ = "verification_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    terminal_id: Mapped[str] = mapped_column(String(64))
    request_digest: Mapped[str] = mapped_column(String(64))
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Lockout(Base):
    """A NIK locked after repeated failed attempts; open until a case worker unlocks it."""

    __tablename__ = "lockouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    # `home`: failures at terminals of the person's own region lock them everywhere; `away`:
    # failures elsewhere lock them only at terminals outside their region.
    scope: Mapped[str] = mapped_column(String(8), default="home", server_default="home")
    locked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    unlocked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The operator (a case worker) who unlocked it.
    unlocked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unlock_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class CaseWorker(Base):
    """A registered pendamping, who authenticates with their own enrolled fingers."""

    __tablename__ = "case_workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    # The same pendamping as an ops operator (role case_worker) of the security domain.
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), unique=True)
    region: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The case worker's finger templates, one sealed envelope (internal serialisation).
    envelope: Mapped[bytes] = mapped_column(SealedBytes)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


__all__ = ["CaseWorker", "Lockout", "VerificationRecord", "VerificationToken", "terminal_models"]
