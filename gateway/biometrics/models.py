"""The enrolled biometric templates: one sealed row per finger or eye, read by enrolment,
verification and the indexes alike."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.crypto.registry import SealedBytes
from gateway.db import Base, UtcDateTime, utcnow


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


def template_aad(*, reference: str, person_id: int, modality: str, position: int) -> bytes:
    """Associated data binding a template envelope to its row: a moved template won't open."""
    return f"template:{reference}:person={person_id}:{modality}={position}".encode()
