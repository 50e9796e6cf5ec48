"""Enrollments, their encrypted templates, and the adjudication queue for suspected duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.crypto.registry import SealedBytes
from gateway.db import Base, UtcDateTime, utcnow


class Enrollment(Base):
    """One capture session for a person: enrolled, held for adjudication, merged or refused."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    terminal_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class BiometricTemplate(Base):
    """One finger or iris template, sealed in an AES-GCM envelope bound to this row."""

    __tablename__ = "biometric_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    modality: Mapped[str] = mapped_column(String(8))
    # ISO/IEC 19794-2 finger position (1..10) or ISO/IEC 19794-6 eye (1 right, 2 left).
    position: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int] = mapped_column(Integer)
    envelope: Mapped[bytes] = mapped_column(SealedBytes)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_biometric_templates_person_active", "person_id", "active"),)


class Adjudication(Base):
    """An enrollment whose 1:N search hit someone above the duplicate threshold."""

    __tablename__ = "adjudications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    # [{"person": reference, "person_id": id, "score": float, "fmr": float, "modality": str}]
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    adjudicator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


def template_aad(*, reference: str, person_id: int, modality: str, position: int) -> bytes:
    """Associated data binding a template envelope to its row: a moved template won't open."""
    return f"template:{reference}:person={person_id}:{modality}={position}".encode()
