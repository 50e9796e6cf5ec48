"""The enrolled biometric templates, one sealed row per finger or eye, read by enrolment,
verification and the indexes alike; and the finger captures they were extracted from, kept
sealed so the gallery can be extracted again when the extractor changes."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.crypto.envelope import open_sealed
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
    # Name and version of the extractor that made the template (`satupintu-gabor/1`), out of
    # the envelope so the gallery's versions can be counted and re-extracted without opening
    # every row. "" for another vendor's minutiae record; NULL for a finger template stored
    # before versions were recorded here (its envelope still names the extractor).
    extractor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_biometric_templates_person_active", "person_id", "active"),)


class BiometricCapture(Base):
    """The finger capture (an image or an ISO/IEC 19794-4 record) an enrolment's template at
    one position was extracted from, sealed and bound to that enrolment and position."""

    __tablename__ = "biometric_captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    modality: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer)
    # The capture's `format` as the terminal sent it: `image` or `iso19794-4`.
    format: Mapped[str] = mapped_column(String(16))
    # The resolution the terminal declared for an image (records state their own).
    resolution_dpi: Mapped[int | None] = mapped_column(Integer, nullable=True)
    envelope: Mapped[bytes] = mapped_column(SealedBytes)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "enrollment_id",
            "modality",
            "position",
            name="uq_biometric_captures_enrollment_id_modality_position",
        ),
    )


def template_aad(*, reference: str, person_id: int, modality: str, position: int) -> bytes:
    """Associated data binding a template envelope to its row: a moved template won't open."""
    return f"template:{reference}:person={person_id}:{modality}={position}".encode()


class SealedTemplateRow(Protocol):
    """The columns opening a template needs: an ORM row or a Core row of the same names."""

    @property
    def reference(self) -> str: ...
    @property
    def person_id(self) -> int: ...
    @property
    def modality(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def envelope(self) -> bytes: ...


def open_template(row: SealedTemplateRow) -> bytes:
    """A stored template's plain bytes, opened with the associated data of its own row."""
    return open_sealed(
        bytes(row.envelope),
        aad=template_aad(
            reference=row.reference,
            person_id=row.person_id,
            modality=row.modality,
            position=row.position,
        ),
    )


def capture_aad(*, enrollment_id: int, person_id: int, modality: str, position: int) -> bytes:
    """Associated data binding a stored capture to its enrolment, person and position."""
    return f"capture:enrollment={enrollment_id}:person={person_id}:{modality}={position}".encode()
